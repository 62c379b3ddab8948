package models

import "sync"

// parallel runs fn over [0, n) cut into at most threads contiguous chunks,
// one goroutine each (the caller's goroutine runs the first). The chunk of
// worker w is [lo, hi). Every kernel here computes each item the same way
// whatever the chunking, so results do not depend on threads.
func parallel(threads, n int, fn func(w, lo, hi int)) {
	if n <= 0 {
		return
	}
	if threads > n {
		threads = n
	}
	if threads <= 1 {
		fn(0, 0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(threads - 1)
	for w := 1; w < threads; w++ {
		lo, hi := w*n/threads, (w+1)*n/threads
		go func() {
			defer wg.Done()
			fn(w, lo, hi)
		}()
	}
	fn(0, 0, n/threads)
	wg.Wait()
}
