package envelope_test

import (
	"testing"

	"github.com/exekra/hub/libs/envelope"
)

// The cost of one asset value's encryption at rest: a fresh data key per
// value, sealed under it, the data key wrapped under the primary key.
func BenchmarkSeal(b *testing.B) {
	ring, err := envelope.NewKeyring()
	if err != nil {
		b.Fatal(err)
	}
	value, aad := []byte(`{"username":"robot","password":"correct horse battery staple"}`), envelope.AAD("a", "global", "", 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Seal(value, aad); err != nil {
			b.Fatal(err)
		}
	}
}

// What a runner's read of a value costs the runners service in crypto.
func BenchmarkOpen(b *testing.B) {
	ring, err := envelope.NewKeyring()
	if err != nil {
		b.Fatal(err)
	}
	value, aad := []byte(`{"username":"robot","password":"correct horse battery staple"}`), envelope.AAD("a", "global", "", 1)
	sealed, err := ring.Seal(value, aad)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Open(sealed, aad); err != nil {
			b.Fatal(err)
		}
	}
}
