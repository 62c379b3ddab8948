package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestTune: TUNE="m,n,k,ta,tb,threads,reps" kernel by name TUNEK.
func TestTune(t *testing.T) {
	spec := os.Getenv("TUNE")
	if spec == "" {
		t.Skip()
	}
	for _, sp := range strings.Split(spec, ";") {
		f := strings.Split(sp, ",")
		v := make([]int, len(f))
		for i := range f {
			v[i], _ = strconv.Atoi(f[i])
		}
		m, n, k, ta, tb, th, reps := v[0], v[1], v[2], v[3] == 1, v[4] == 1, v[5], v[6]
		kern := kernels()[0]
		for _, kk := range kernels() {
			if kk.name == os.Getenv("TUNEK") {
				kern = kk
			}
		}
		if v := os.Getenv("TUNENC"); v != "" {
			kk := *kern
			kk.nc, _ = strconv.Atoi(v)
			kern = &kk
		}
		if v := os.Getenv("TUNEMC"); v != "" {
			kk := *kern
			kk.mc, _ = strconv.Atoi(v)
			kern = &kk
		}
		rng := rand.New(rand.NewPCG(1, 1))
		a, b, c := randSlice(rng, m*k), randSlice(rng, k*n), make([]float32, m*n)
		lda, ldb := k, n
		if ta {
			lda = m
		}
		if tb {
			ldb = k
		}
		var ru0 syscall.Rusage
		syscall.Getrusage(0, &ru0)
		tw := time.Now()
		runtime.LockOSThread()
		best := time.Hour
		bestCPU := time.Hour
		for r := 0; r < reps; r++ {
			c0 := threadCPU()
			t0 := time.Now()
			sgemm(kern, th, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, n)
			d := time.Since(t0)
			dc := threadCPU() - c0
			best = min(best, d)
			bestCPU = min(bestCPU, dc)
		}
		runtime.UnlockOSThread()
		wall := time.Since(tw)
		var ru1 syscall.Rusage
		syscall.Getrusage(0, &ru1)
		pcpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
		fl := 2 * float64(m) * float64(n) * float64(k)
		fmt.Printf("%s %v: best wall %.1f GFLOP/s", kern.name, f, fl/best.Seconds()/1e9)
		if th == 1 || true {
			fmt.Printf("  best thread-cpu %.1f GFLOP/s (cpu res coarse)", fl/bestCPU.Seconds()/1e9)
		}
		fmt.Printf("  process: %.1f GFLOP per cpu-s, avg wall %.1f GFLOP/s\n", fl*float64(reps)/pcpu.Seconds()/1e9, fl*float64(reps)/wall.Seconds()/1e9)
	}
}
