package config

import (
	"io/fs"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

const (
	nameChars = "abcdefghijklmnopqrstuvwxyz0123456789-_"
	dtmfKeys  = "0123456789*#"
)

// ivrs decodes the ivr section: tree name -> {start, nodes}.
func (p *parser) ivrs(path string, n *yaml.Node) {
	p.named(path, n, func(name, tp string, k, v *yaml.Node) {
		if !p.checkName(tp, k, name, nameChars, "made of a-z, 0-9, - and _") {
			return
		}
		t := IVRTree{Name: name, Nodes: map[string]IVRNode{}}
		seen := p.mapping(tp, v, fields{
			"start": func(path string, v *yaml.Node) { t.Start, _ = p.nonEmpty(path, v) },
			"nodes": func(path string, v *yaml.Node) { p.ivrNodes(path, v, t.Nodes) },
		})
		p.require(tp, v, seen, "start", "nodes")
		p.c.IVRs[name] = t
	})
}

func (p *parser) ivrNodes(path string, n *yaml.Node, out map[string]IVRNode) {
	ok := p.named(path, n, func(name, np string, k, v *yaml.Node) {
		if p.checkName(np, k, name, nameChars, "made of a-z, 0-9, - and _") {
			out[name] = p.ivrNode(np, name, v)
		}
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must hold at least one node")
	}
}

// ivrNode decodes one node: its type decides which keys it may have.
func (p *parser) ivrNode(path, name string, n *yaml.Node) IVRNode {
	nd := IVRNode{Name: name}
	if n.Kind != yaml.MappingNode {
		p.wrongType(path, n, "a mapping with a type")
		return nd
	}
	typ, line := nodeType(n)
	switch {
	case line == 0:
		p.problem(n.Line, path, "missing required key \"type\" (one of %s)", strings.Join(nodeTypes, ", "))
		return nd
	case !slices.Contains(nodeTypes, typ):
		p.problem(line, path+".type", "unknown node type %q (known: %s)", typ, strings.Join(nodeTypes, ", "))
		return nd
	}
	nd = newIVRNode(name, typ)
	f, required := p.nodeFields(&nd)
	seen := p.mapping(path, n, f)
	p.require(path, n, seen, required...)
	if typ == NodeSet && seen != nil && !seen["var"] && !seen["tag"] && !seen["priority"] {
		p.problem(n.Line, path, "a set node needs var (with value), tag or priority")
	}
	if typ == NodeSet && seen != nil && seen["var"] != seen["value"] {
		p.problem(n.Line, path, "var and value go together")
	}
	return nd
}

// nodeType returns the value and line of a node's type key (line 0: none).
func nodeType(n *yaml.Node) (string, int) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "type" {
			return n.Content[i+1].Value, k.Line
		}
	}
	return "", 0
}

// nodeFields returns the keys a node of nd.Type may have and those it must.
func (p *parser) nodeFields(nd *IVRNode) (fields, []string) {
	ref := func(dst *string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) { *dst, _ = p.nonEmpty(path, v) }
	}
	prompts := func(dst *[]string) func(string, *yaml.Node) {
		return func(path string, v *yaml.Node) { *dst = p.promptList(path, v) }
	}
	f := fields{"type": func(string, *yaml.Node) {}}
	add := func(more fields) {
		for k, fn := range more {
			f[k] = fn
		}
	}
	input := fields{
		"prompts": prompts(&nd.Prompts),
		"timeout": func(path string, v *yaml.Node) { setDuration(&p.reader, &nd.Timeout, path, v, 0) },
		"retries": func(path string, v *yaml.Node) { nd.Retries, _ = p.integer(path, v, 0, 9) },
		"invalid": prompts(&nd.Invalid), "no_input": prompts(&nd.NoInput),
		"default": ref(&nd.Default),
	}
	switch nd.Type {
	case NodePlay:
		add(fields{"prompts": prompts(&nd.Prompts), "barge_in": p.setBool(&nd.BargeIn), "next": ref(&nd.Next)})
		return f, []string{"prompts", "next"}
	case NodeMenu:
		add(input)
		add(fields{"barge_in": p.setBool(&nd.BargeIn), "choices": func(path string, v *yaml.Node) { nd.Choices = p.choices(path, v) }})
		return f, []string{"prompts", "choices", "default"}
	case NodeCollect:
		add(input)
		add(p.collectFields(nd))
		add(fields{"next": ref(&nd.Next)})
		return f, []string{"prompts", "var", "next", "default"}
	case NodeSet:
		add(fields{"var": func(path string, v *yaml.Node) { nd.Var = p.varName(path, v) },
			"value":    func(path string, v *yaml.Node) { nd.Value, _ = p.str(path, v) },
			"tag":      func(path string, v *yaml.Node) { nd.Tag = p.varName(path, v) },
			"priority": p.setPriority(&nd.Priority), "next": ref(&nd.Next)})
		return f, []string{"next"}
	case NodeTime:
		add(fields{"hours": ref(&nd.Hours), "open": ref(&nd.Open), "closed": ref(&nd.Closed), "holiday": ref(&nd.Holiday)})
		return f, []string{"hours", "open", "closed"}
	case NodeCaller:
		add(fields{"lists": func(path string, v *yaml.Node) { nd.Callers = p.callerLists(path, v) }, "default": ref(&nd.Default)})
		return f, []string{"lists", "default"}
	case NodeLanguage:
		add(fields{"set": ref(&nd.Language), "next": ref(&nd.Next)})
		return f, []string{"set", "next"}
	case NodeQueue:
		add(fields{"skill": ref(&nd.Skill), "priority": p.setPriority(&nd.Priority)})
		return f, nil
	case NodeTransfer:
		add(fields{"target": func(path string, v *yaml.Node) { nd.Target = p.sipURI(path, v) }})
		return f, []string{"target"}
	}
	add(fields{"reason": ref(&nd.Reason)})
	return f, nil
}

func (p *parser) collectFields(nd *IVRNode) fields {
	return fields{
		"var": func(path string, v *yaml.Node) { nd.Var = p.varName(path, v) },
		"min": func(path string, v *yaml.Node) { nd.Min, _ = p.integer(path, v, 1, maxCollect) },
		"max": func(path string, v *yaml.Node) { nd.Max, _ = p.integer(path, v, 1, maxCollect) },
		"terminator": func(path string, v *yaml.Node) {
			s, ok := p.str(path, v)
			if ok && s != "" && s != "#" && s != "*" {
				p.problem(v.Line, path, `must be "#", "*" or "" (none), not %q`, s)
				return
			}
			nd.Terminator = s
		},
		"digit_timeout": func(path string, v *yaml.Node) {
			setDuration(&p.reader, &nd.DigitTimeout, path, v, 500*time.Millisecond)
		},
		"sensitive": p.setBool(&nd.Sensitive),
	}
}

func (p *parser) setBool(dst *bool) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) {
		if b, ok := p.boolean(path, v); ok {
			*dst = b
		}
	}
}

func (p *parser) setPriority(dst *int) func(string, *yaml.Node) {
	return func(path string, v *yaml.Node) { *dst, _ = p.integer(path, v, 0, MaxPriority) }
}

// promptList is a non-empty list of prompt file names.
func (p *parser) promptList(path string, v *yaml.Node) []string {
	out, ok := p.strList(path, v)
	if ok && len(out) == 0 {
		p.problem(v.Line, path, "must list at least one prompt")
	}
	return out
}

func (p *parser) varName(path string, v *yaml.Node) string {
	s, ok := p.str(path, v)
	if !ok || !p.checkName(path, v, s, skillChars, "made of a-z, 0-9 and _") {
		return ""
	}
	return s
}

// choices decodes a menu's DTMF key -> node mapping.
func (p *parser) choices(path string, n *yaml.Node) map[string]string {
	out := map[string]string{}
	p.named(path, n, func(key, kp string, k, v *yaml.Node) {
		if len(key) != 1 || !strings.Contains(dtmfKeys, key) {
			p.problem(k.Line, kp, "%q is not a key of the keypad (0-9, *, #)", key)
			return
		}
		if s, ok := p.nonEmpty(kp, v); ok {
			out[key] = s
		}
	})
	return out
}

// callerLists decodes a caller node's lists.
func (p *parser) callerLists(path string, n *yaml.Node) []CallerList {
	var out []CallerList
	ok := p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		var cl CallerList
		seen := p.mapping(ip, v, fields{
			"numbers":  func(path string, v *yaml.Node) { cl.Numbers = p.callerNumbers(path, v) },
			"priority": p.setPriority(&cl.Priority),
			"next":     func(path string, v *yaml.Node) { cl.Next, _ = p.nonEmpty(path, v) },
		})
		p.require(ip, v, seen, "numbers", "next")
		out = append(out, cl)
	})
	if ok && len(n.Content) == 0 {
		p.problem(n.Line, path, "must list at least one list of numbers")
	}
	return out
}

// callerNumbers: digits (a leading + allowed), or a prefix ending in "*".
func (p *parser) callerNumbers(path string, n *yaml.Node) []string {
	var out []string
	p.list(path, n, func(_ int, ip string, v *yaml.Node) {
		s, ok := p.scalar(ip, v, "a number made of digits", "!!str", "!!int")
		if !ok {
			return
		}
		body := strings.TrimSuffix(strings.TrimPrefix(s, "+"), "*")
		if body == "" || len(s) > 32 || strings.Trim(body, "0123456789") != "" {
			p.problem(v.Line, ip, "%q must be digits (a leading + allowed), or a prefix ending in *", s)
			return
		}
		out = append(out, s)
	})
	return out
}

// promptSets decodes prompts.sets: set name -> folder inside prompts.dir.
func (p *parser) promptSets(path string, n *yaml.Node) {
	sets := map[string]string{}
	ok := p.named(path, n, func(name, sp string, k, v *yaml.Node) {
		if !p.checkName(sp, k, name, nameChars, "made of a-z, 0-9, - and _") {
			return
		}
		dir, ok := p.nonEmpty(sp, v)
		if !ok {
			return
		}
		if !fs.ValidPath(dir) {
			p.problem(v.Line, sp, "%q must be a relative folder inside prompts.dir (\".\" is prompts.dir itself)", dir)
			return
		}
		sets[name] = dir
	})
	if ok && len(sets) > 0 {
		p.c.Prompts.Sets = sets
	}
}
