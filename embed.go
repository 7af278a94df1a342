// Package hotline holds what the binary embeds: the demo centre
// (testdata/demo.yaml) and its prompts, so `hotline` with no flags runs a
// complete centre with nothing else on disk.
package hotline

import (
	"embed"
	"io/fs"

	"github.com/hotline-cc/hotline/config"
)

//go:embed testdata/demo.yaml testdata/prompts/*.wav testdata/prompts/yue/*.wav
var demoFS embed.FS

// DemoConfig parses the embedded demo centre.
func DemoConfig() (*config.Config, error) {
	base, err := fs.Sub(demoFS, "testdata")
	if err != nil {
		return nil, err
	}
	data, err := fs.ReadFile(base, "demo.yaml")
	if err != nil {
		return nil, err
	}
	return config.Parse("demo.yaml", data, base)
}
