package text_test

import (
	"strings"
	"testing"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
)

func TestCheck(t *testing.T) {
	for _, s := range []string{"", "plain", "ünïcödé ✓", "\uFFFD", "a\tb\nc", "😀"} {
		if err := text.Check("actor", s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"\x00", "a\x00b", "\xff", "a\xc3", "\xed\xa0\x80" /* an encoded surrogate */} {
		err := text.Check("actor", s)
		if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.HasPrefix(msg, "actor ") {
			t.Errorf("%q: %v, want invalid_argument naming actor", s, err)
		}
	}
}

func TestCheckJSON(t *testing.T) {
	for _, doc := range []string{`{}`, `{"a":"b"}`, `{"a":"\u00e9\ud83d\ude00"}`, `{"a":["\\u0000", "\\\\", "\"\u0001"]}`,
		`{"\u00e9":1.5e3,"o":{"x":null,"y":[true]}}`, `"\uD83D\uDE00"`} {
		if err := text.CheckJSON("parameters", []byte(doc)); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
	for _, doc := range []string{`{"a":"\u0000"}`, `{"a\u0000":1}`, `{"a":"\ud800"}`, `{"a":"\udc00"}`, `{"a":"\ud800\u0041"}`,
		`{"a":"\ud800\\udc00"}`, `{"a":"x\uD800"}`, "{\"a\":\"\xff\"}", "{\"a\":\"\x00\"}"} {
		err := text.CheckJSON("parameters", []byte(doc))
		if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.HasPrefix(msg, "parameters ") {
			t.Errorf("%s: %v, want invalid_argument naming parameters", doc, err)
		}
	}
}

func TestMend(t *testing.T) {
	for in, want := range map[string]string{"ok ✓": "ok ✓", "a\x00b": "a\uFFFDb", "a\xffb": "a\uFFFDb", "\xed\xa0\x80": "\uFFFD"} {
		if got := text.Mend(in); got != want || text.Check("x", got) != nil {
			t.Errorf("Mend(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, s := range []string{"Ada Lovelace", "Zoë O’Brien", "محمد", "李小龍", "👩\u200d💻 Ada", "नमस्\u200dते", "build-01.example"} {
		if err := text.CheckName("name", s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"admin\u202egnp.exe", "\u202a", "\u202b", "\u202c", "\u202d", "\u2066", "\u2067", "\u2068", "\u2069",
		"\u200e", "\u200f", "\u061c", "\u200b", "\ufeff", "\u00ad", "\u2028", "\u2029", "a\tb", "a\nb", "\u0085", "\u009b", "\x7f",
		"\U000e0001", "a\x00", "\xff"} {
		err := text.CheckName("name", s)
		if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.HasPrefix(msg, "name ") {
			t.Errorf("%+q: %v, want invalid_argument naming name", s, err)
		}
	}
}
