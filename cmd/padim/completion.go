package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/padim-go/padim/backbones"
	"github.com/padim-go/padim/datasets"
)

// Shell completion: cobra's `padim completion bash|zsh|fish|powershell`
// writes the script; registerCompletions teaches it the values of the
// project's flags, by flag name, for every command that has the flag, so
// commands added later are covered without listing them here.

// fileFlags complete as files with these extensions (none: any file);
// dirFlags complete as directories.
var (
	fileFlags = map[string][]string{
		"weights":  {"pth", "safetensors"},
		"model":    {"padim"},
		"channels": nil,
		"json":     {"json"},
	}
	dirFlags = []string{"data", "dir", "cache", "work", "synthetic", "normal", "normal-test", "abnormal", "masks"}
)

func registerCompletions(root *cobra.Command) {
	fixed := func(values func() []string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return values(), cobra.ShellCompDirectiveNoFileComp
		}
	}
	walk(root, func(c *cobra.Command) {
		// Positional arguments: `padim fetch weights NAME` takes a backbone;
		// commands without a rule complete files (predict's images).
		if c.CommandPath() == root.Name()+" fetch weights" && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return backbones.Names(), cobra.ShellCompDirectiveNoFileComp
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) {
			name := f.Name
			if exts, ok := fileFlags[name]; ok {
				_ = c.MarkFlagFilename(name, exts...)
				return
			}
			if slices.Contains(dirFlags, name) {
				_ = c.MarkFlagDirname(name)
				return
			}
			switch name {
			case "format":
				_ = c.RegisterFlagCompletionFunc(name, fixed(datasetFormatNames))
			case "backbone":
				_ = c.RegisterFlagCompletionFunc(name, fixed(backbones.Names))
			case "backbones":
				_ = c.RegisterFlagCompletionFunc(name, commaList(backbones.Names))
			case "category":
				_ = c.RegisterFlagCompletionFunc(name, completeCategory)
			case "only":
				_ = c.RegisterFlagCompletionFunc(name, commaList(tableNames))
			}
		})
	})
}

// walk calls f on c and every command below it.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, sub := range c.Commands() {
		walk(sub, f)
	}
}

// commaList completes the last item of a comma-separated list, keeping the
// items already typed and not offering them again.
func commaList(values func() []string) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		done, prefix := "", toComplete
		if i := strings.LastIndexByte(toComplete, ','); i >= 0 {
			done, prefix = toComplete[:i+1], toComplete[i+1:]
		}
		typed := strings.Split(done, ",")
		var out []string
		for _, v := range values() {
			if strings.HasPrefix(v, prefix) && !slices.Contains(typed, v) {
				out = append(out, done+v)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
}

// completeCategory offers the category folders under --data when it is
// given (or $PADIM_DATA/mvtec_ad), else MVTec AD's 15 categories.
func completeCategory(cmd *cobra.Command, _ []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	root := filepath.Join(defaultDataRoot(), "mvtec_ad")
	if f := cmd.Flags().Lookup("data"); f != nil && f.Value.String() != "" {
		root = f.Value.String()
	}
	if entries, err := os.ReadDir(root); err == nil {
		var dirs []string
		for _, e := range entries {
			if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) > 0 {
			return dirs, cobra.ShellCompDirectiveNoFileComp
		}
	}
	return datasets.MVTecCategories, cobra.ShellCompDirectiveNoFileComp
}
