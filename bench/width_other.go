//go:build !unix

package bench

import "os"

// termWidth is the width of the terminal f, or 0 when unknown.
func termWidth(*os.File) int { return 0 }
