package bench

import (
	"errors"
	"sync"
)

// pool runs fns on r.Jobs workers (Pool).
func (r *Runner) pool(fns []func() error) error { return Pool(r.Jobs, fns) }

// Pool runs fns on jobs workers (at least one), in order of fns. After the
// first error no new function starts; the errors of those already running
// are joined. It is the one worker pool of the harness: the runner's runs,
// its tuning runs and the image suites' runs all go through it.
func Pool(jobs int, fns []func() error) error {
	var (
		mu   sync.Mutex
		errs []error
		next int
		wg   sync.WaitGroup
	)
	take := func() func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) > 0 || next >= len(fns) {
			return nil
		}
		f := fns[next]
		next++
		return f
	}
	for w := 0; w < min(max(jobs, 1), len(fns)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := take(); f != nil; f = take() {
				if err := f(); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
