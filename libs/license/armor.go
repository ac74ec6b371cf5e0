package license

import (
	"encoding/base64"
	"fmt"
	"strings"
)

// block is one BEGIN/END section of a text file: optional "name: value"
// header lines, then base64 data wrapped over any number of lines.
type block struct {
	label   string
	headers map[string]string
	data    []byte
}

const (
	beginPrefix = "-----BEGIN "
	endPrefix   = "-----END "
	dashes      = "-----"
	lineWidth   = 64
)

// armor renders one block with its headers in the order given (name, value pairs).
func armor(label string, data []byte, headers ...string) string {
	var b strings.Builder
	b.WriteString(beginPrefix + label + dashes + "\n")
	for i := 0; i+1 < len(headers); i += 2 {
		b.WriteString(headers[i] + ": " + headers[i+1] + "\n")
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > lineWidth {
		b.WriteString(enc[:lineWidth] + "\n")
		enc = enc[lineWidth:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	b.WriteString(endPrefix + label + dashes + "\n")
	return b.String()
}

// splitLines normalises CRLF and CR line ends, drops a byte-order mark and
// trims each line, so files that crossed mail clients and editors still read.
func splitLines(text string) []string {
	text = strings.TrimPrefix(text, "\ufeff")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	lines := strings.Split(text, "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return lines
}

// marker returns the label of a BEGIN or END line (prefix chooses which).
func marker(line, prefix string) (string, bool) {
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, dashes) || len(line) < len(prefix)+len(dashes) {
		return "", false
	}
	return strings.TrimSpace(line[len(prefix) : len(line)-len(dashes)]), true
}

// parseBlocks reads every block of text. Lines outside blocks are ignored (a
// file may carry a note above the license). A block without its END line is
// reported as truncated; bad base64 or a bad header as malformed.
func parseBlocks(k kind, text string) ([]block, error) {
	var blocks []block
	var cur *block
	var data strings.Builder
	for _, line := range splitLines(text) {
		if cur == nil {
			if label, ok := marker(line, beginPrefix); ok {
				cur = &block{label: label, headers: map[string]string{}}
				data.Reset()
			}
			continue
		}
		if label, ok := marker(line, endPrefix); ok {
			if label != cur.label {
				return nil, k.fail(ReasonMalformed, "malformed: block %q ends with %q", cur.label, label)
			}
			raw, err := base64.StdEncoding.DecodeString(data.String())
			if err != nil {
				return nil, k.fail(ReasonMalformed, "malformed: block %q is not valid base64", cur.label)
			}
			cur.data = raw
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		if err := addLine(k, cur, &data, line); err != nil {
			return nil, err
		}
	}
	if cur != nil {
		return nil, k.fail(ReasonTruncated, "truncated: block %q has no END line", cur.label)
	}
	return blocks, nil
}

// addLine adds a header or data line to the open block b.
func addLine(k kind, b *block, data *strings.Builder, line string) error {
	switch {
	case line == "":
		return nil
	case strings.HasPrefix(line, beginPrefix):
		return k.fail(ReasonTruncated, "truncated: block %q has no END line", b.label)
	case strings.Contains(line, ":"):
		if data.Len() > 0 {
			return k.fail(ReasonMalformed, "malformed: header line after data in block %q", b.label)
		}
		name, value, _ := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := b.headers[name]; dup {
			return k.fail(ReasonMalformed, "malformed: header %q repeated in block %q", name, b.label)
		}
		b.headers[name] = strings.TrimSpace(value)
		return nil
	}
	data.WriteString(line)
	return nil
}

// envelope is a signed file split into its parts, not yet verified.
type envelope struct {
	body []byte
	alg  string
	key  string
	sig  []byte
}

// parseEnvelope finds exactly one body block followed by its signature block.
func parseEnvelope(k kind, text string) (envelope, error) {
	blocks, err := parseBlocks(k, text)
	if err != nil {
		return envelope{}, err
	}
	var body, sig *block
	for i := range blocks {
		switch blocks[i].label {
		case k.label:
			if body != nil {
				return envelope{}, k.fail(ReasonMalformed, "malformed: more than one %s in the file", k.noun)
			}
			body = &blocks[i]
		case k.label + " SIGNATURE":
			if sig != nil || body == nil {
				return envelope{}, k.fail(ReasonMalformed, "malformed: the signature block must follow the %s block, once", k.noun)
			}
			sig = &blocks[i]
		default:
			return envelope{}, k.fail(ReasonMalformed, "malformed: unexpected block %q", blocks[i].label)
		}
	}
	if body == nil {
		return envelope{}, k.fail(ReasonMalformed, "malformed: no %q line; this is not an Exekra %s file", beginPrefix+k.label+dashes, k.noun)
	}
	if sig == nil {
		return envelope{}, k.fail(ReasonTruncated, "truncated: the signature block is missing")
	}
	return envelopeOf(k, body, sig)
}

func envelopeOf(k kind, body, sig *block) (envelope, error) {
	for name := range sig.headers {
		if name != "alg" && name != "key" {
			return envelope{}, k.fail(ReasonMalformed, "malformed: unknown signature header %q", name)
		}
	}
	env := envelope{body: body.data, alg: sig.headers["alg"], key: sig.headers["key"], sig: sig.data}
	if env.alg == "" || env.key == "" {
		return envelope{}, k.fail(ReasonMalformed, "malformed: the signature block needs alg and key headers")
	}
	if len(env.body) == 0 {
		return envelope{}, k.fail(ReasonTruncated, "truncated: the %s block is empty", k.noun)
	}
	return env, nil
}

// kind is one type of signed file: its block label, signing domain and name.
type kind struct {
	label  string
	domain string
	noun   string
}

func (k kind) fail(reason Reason, format string, args ...any) error {
	return &Error{Reason: reason, Message: fmt.Sprintf("the %s file is ", k.noun) + fmt.Sprintf(format, args...)}
}
