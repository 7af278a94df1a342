package ivr

import (
	"maps"
	"slices"

	"github.com/hotline-cc/hotline/config"
)

// Tree is one compiled IVR tree: immutable, shared by every Session that
// walks it.
type Tree struct {
	name  string
	start *node
	size  int // number of nodes: bounds the hops of one step
	plan  *Plan
	lang  string                       // the default prompt set
	paths map[string]map[string]string // set -> prompt name -> path in config.FS
}

// node is a config node with its references resolved.
type node struct {
	config.IVRNode
	next, def, open, closed, holiday *node
	choices                          map[rune]*node
	callers                          []callers
	hours                            *config.Hours
}

type callers struct {
	numbers  []string
	priority int
	next     *node
}

// Name returns the tree's name (BuiltinTree for the built-in greeting).
func (t *Tree) Name() string { return t.name }

// compile resolves the node references of ct; with resolve, each prompt
// name is mapped to its path in every prompt set's folder (else prompts are
// paths already).
func (p *Plan) compile(c *config.Config, ct config.IVRTree, resolve bool) *Tree {
	t := &Tree{name: ct.Name, size: len(ct.Nodes), plan: p, lang: c.Prompts.Language, paths: map[string]map[string]string{}}
	nodes := make(map[string]*node, len(ct.Nodes))
	for name, cn := range ct.Nodes {
		nodes[name] = &node{IVRNode: cn}
	}
	for _, n := range nodes {
		n.next, n.def = nodes[n.Next], nodes[n.Default]
		n.open, n.closed, n.holiday = nodes[n.Open], nodes[n.Closed], nodes[n.Holiday]
		n.hours = p.hours[n.Hours]
		if len(n.Choices) > 0 {
			n.choices = map[rune]*node{}
			for k, to := range n.Choices {
				n.choices[rune(k[0])] = nodes[to]
			}
		}
		for _, cl := range n.Callers {
			n.callers = append(n.callers, callers{cl.Numbers, cl.Priority, nodes[cl.Next]})
		}
		if resolve {
			t.resolve(c, n)
		}
	}
	t.start = nodes[ct.Start]
	return t
}

// resolve records the path of each prompt of n in every prompt set.
func (t *Tree) resolve(c *config.Config, n *node) {
	for _, set := range slices.Sorted(maps.Keys(c.Prompts.Sets)) {
		byName := t.paths[set]
		if byName == nil {
			byName = map[string]string{}
			t.paths[set] = byName
		}
		for _, list := range [][]string{n.Prompts, n.Invalid, n.NoInput} {
			for _, name := range list {
				if _, ok := byName[name]; !ok {
					byName[name] = c.PromptPath(set, name)
				}
			}
		}
	}
}

// prompts returns the paths of names in the prompt set lang.
func (t *Tree) prompts(lang string, names ...[]string) []string {
	var out []string
	for _, list := range names {
		for _, name := range list {
			if p, ok := t.paths[lang][name]; ok {
				out = append(out, p)
			} else if p, ok := t.paths[t.lang][name]; ok {
				out = append(out, p)
			} else {
				out = append(out, name)
			}
		}
	}
	return out
}
