//go:build !linux

package agent

import "github.com/exekra/hub/libs/contract/runners"

// Sampler reports zeros on systems other than Linux (the metrics readers
// use /proc and statfs); the Hub shows the runner without metrics.
type Sampler struct{}

// NewSampler returns the zero sampler.
func NewSampler(string) *Sampler { return &Sampler{} }

// Sample reports zeros.
func (*Sampler) Sample() runners.Metrics { return runners.Metrics{} }
