package busauth

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Render writes a nats-server authorization block that lets each principal
// in, by its public key, with its permissions: what an enterprise NATS
// cluster includes in every node's configuration.
func Render(w io.Writer, keys map[Principal]string) error {
	var b strings.Builder
	b.WriteString("# Who may do what on the Exekra Hub's bus: one NKey user per kind of Hub process.\n")
	b.WriteString("# Written by `exekractl credentials --nats-authorization FILE`; regenerate it, do not edit it.\n")
	b.WriteString("authorization {\n  users = [\n")
	for _, p := range Principals {
		pub, ok := keys[p]
		if !ok {
			continue
		}
		perms := p.Permissions()
		fmt.Fprintf(&b, "    # %s\n    {\n      nkey: %s\n      permissions: {\n", p, strconv.Quote(pub))
		fmt.Fprintf(&b, "        publish: { allow: %s", list(perms.PublishAllow))
		if len(perms.PublishDeny) > 0 {
			fmt.Fprintf(&b, ", deny: %s", list(perms.PublishDeny))
		}
		fmt.Fprintf(&b, " }\n        subscribe: { allow: %s }\n", list(perms.SubscribeAllow))
		if perms.Responds {
			b.WriteString("        allow_responses: true\n")
		}
		b.WriteString("      }\n    }\n")
	}
	b.WriteString("  ]\n}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// list quotes every subject: in a nats-server configuration an unquoted $X
// is a variable.
func list(subjects []string) string {
	q := make([]string, len(subjects))
	for i, s := range subjects {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
