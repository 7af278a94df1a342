// Package config owns the centre's YAML file: it reads it with node positions,
// applies every default in one place (defaults.go), checks each field and each
// rule across fields, and reports all problems at once as FILE:LINE: message
// before anything starts. The result, *Config, is immutable and is passed into
// the constructors of the other packages.
//
// config imports no other hotline package (it sits beneath them all) and opens
// no socket; it reads only the config file and the prompt files it names.
//
// The reference of every key, its default and its rules is docs/CONFIG.md.
package config
