package config

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
)

// promptFS applies prompts.dir to base. osDir is the config's folder on disk
// when loading from a file ("" from Parse): only then may the dir be absolute
// or leave the folder.
func (p *parser) promptFS(base fs.FS, osDir string) fs.FS {
	dir := p.promptsDir
	if dir == "" {
		dir = defaultPromptsDir
	}
	if osDir != "" && (filepath.IsAbs(dir) || !fs.ValidPath(path.Clean(filepath.ToSlash(dir)))) {
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(osDir, dir)
		}
		return p.checkDir(os.DirFS(dir), ".", dir)
	}
	clean := path.Clean(filepath.ToSlash(dir))
	if !fs.ValidPath(clean) {
		p.problemAt("prompts.dir", "%q must be a relative path inside the config's folder", dir)
		return nil
	}
	if base == nil {
		p.problemAt("prompts.dir", "no folder to read prompts from (nil fs.FS)")
		return nil
	}
	sub, err := fs.Sub(base, clean)
	if err != nil {
		p.problemAt("prompts.dir", "%q: %v", dir, err)
		return nil
	}
	return p.checkDir(sub, ".", dir)
}

func (p *parser) checkDir(fsys fs.FS, name, shown string) fs.FS {
	if st, err := fs.Stat(fsys, name); err != nil || !st.IsDir() {
		p.problemAt("prompts.dir", "folder %q not found", shown)
		return nil
	}
	return fsys
}

// checkPrompts checks that every prompt exists and is 8 kHz mono 16-bit PCM.
func (p *parser) checkPrompts() {
	if p.c.FS == nil {
		return
	}
	p.checkPrompt("prompts.welcome", p.c.Prompts.Welcome)
	p.checkPrompt("prompts.hold_music", p.c.Prompts.HoldMusic)
	for i, l := range p.c.Lines {
		if l.Announcement != nil && l.Announcement.Prompt != "" {
			p.checkPrompt(fmt.Sprintf("lines[%d].announcement.prompt", i), l.Announcement.Prompt)
		}
	}
	p.checkIVRPrompts()
}

func (p *parser) checkPrompt(at, name string) {
	if err := checkWAV(p.c.FS, name); err != nil {
		p.problemAt(at, "prompt %q in %s: %v", name, p.shownDir(), err)
	}
}

func (p *parser) shownDir() string {
	if p.promptsDir == "" {
		return defaultPromptsDir + "/"
	}
	return p.promptsDir + "/"
}

var (
	errNotWAV    = errors.New("not a RIFF WAVE file")
	errWAVFormat = errors.New("must be 8 kHz mono 16-bit PCM")
)

// checkWAV reads the header of a WAV file and checks its format chunk.
func checkWAV(fsys fs.FS, name string) error {
	f, err := fsys.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errors.New("not found")
		}
		return err
	}
	defer f.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return errNotWAV
	}
	return checkWAVHeader(head[:n])
}

func checkWAVHeader(b []byte) error {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return errNotWAV
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		if id == "fmt " {
			if len(body) < 16 {
				return errNotWAV
			}
			return checkFmt(body)
		}
		if size < 0 || size > len(b) {
			break
		}
		off += 8 + size + size%2
	}
	return errors.New("no fmt chunk near the start")
}

func checkFmt(f []byte) error {
	format := binary.LittleEndian.Uint16(f[0:2])
	if format == 0xFFFE && len(f) >= 26 { // WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with the format code
		format = binary.LittleEndian.Uint16(f[24:26])
	}
	channels := binary.LittleEndian.Uint16(f[2:4])
	rate := binary.LittleEndian.Uint32(f[4:8])
	bits := binary.LittleEndian.Uint16(f[14:16])
	if format != 1 || channels != 1 || rate != 8000 || bits != 16 {
		return fmt.Errorf("%w, not format %d, %d Hz, %d channel(s), %d-bit", errWAVFormat, format, rate, channels, bits)
	}
	return nil
}
