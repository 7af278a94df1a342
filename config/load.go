package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Load reads and validates the config file at path; prompts.dir is resolved
// against the file's folder. Called from cmd/hotline at start and on SIGHUP;
// it blocks on file reads only. A refused file is an *Errors listing every
// problem; an unreadable one wraps ErrRead.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrRead, path, err)
	}
	dir := filepath.Dir(path)
	return parse(path, data, os.DirFS(dir), dir)
}

// Parse validates config data; name is used in messages and base is the
// folder the config lives in (prompts.dir is resolved inside it). Used for
// the embedded demo centre and by tests. A refused file is an *Errors.
func Parse(name string, data []byte, base fs.FS) (*Config, error) {
	return parse(name, data, base, "")
}

func parse(name string, data []byte, base fs.FS, osDir string) (*Config, error) {
	p := &parser{reader: reader{file: name, at: map[string]int{}}, c: newConfig(), osDir: osDir, base: base}
	root, ok := p.document(data)
	if ok {
		p.at[""] = root.Line
		p.root(root)
		defaultSets(p.c)
		p.c.FS = p.promptFS(base, osDir)
		p.checkPrompts()
		p.validate()
	}
	if len(p.probs) > 0 {
		slices.SortStableFunc(p.probs, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
		return nil, &Errors{Problems: p.probs}
	}
	p.c.File = name
	finishDefaults(p.c)
	return p.c, nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// document parses the YAML text and returns its top-level node.
func (p *parser) document(data []byte) (*yaml.Node, bool) {
	if !p.plainText(data) {
		return nil, false
	}
	var doc, next yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		p.yamlError(err)
		return nil, false
	}
	switch err := dec.Decode(&next); {
	case err == nil:
		p.problem(max(next.Line, 1), "", "only one YAML document is allowed (found a second one)")
		return nil, false
	case !errors.Is(err, io.EOF):
		p.yamlError(err)
		return nil, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || isNull(doc.Content[0]) {
		p.problem(1, "", "the file is empty")
		return nil, false
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.wrongType("", root, "a mapping of sections (centre, sip, rtp, ...)")
		return nil, false
	}
	return root, true
}

// plainText refuses what YAML would read with line numbers that do not
// match the file's lines: UTF-16 or UTF-32 text (a byte-order mark), bytes
// that are not UTF-8, and the Unicode line breaks NEL, LS and PS (YAML
// counts them as new lines, editors and FILE:LINE do not).
func (p *parser) plainText(data []byte) bool {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) ||
		bytes.HasPrefix(data, []byte{0, 0, 0xfe, 0xff}) {
		p.problem(1, "", "the file is UTF-16 or UTF-32 text; save it as UTF-8")
		return false
	}
	line := 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			p.problem(line, "", "byte 0x%02x is not UTF-8 text; save the file as UTF-8", data[i])
			return false
		case r == '\u0085' || r == '\u2028' || r == '\u2029':
			p.problem(line, "", "the character U+%04X breaks lines for YAML but not for editors; use a plain newline", r)
			return false
		case r == '\n':
			line++
		case r == '\r' && (i+1 >= len(data) || data[i+1] != '\n'):
			line++ // a lone CR ends a line for YAML
		}
		i += size
	}
	return true
}

func (p *parser) yamlError(err error) {
	line, msg := 1, err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	p.problem(line, "", "not valid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}
