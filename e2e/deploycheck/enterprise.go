package deploycheck

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Nginx is what the checks read of an nginx configuration: the servers of
// each upstream block and every simple directive with its arguments, in
// file order.
type Nginx struct {
	Upstreams  map[string][]string // upstream name -> "host:port" of each server
	Directives map[string][]string // directive -> the argument text of each occurrence
}

var (
	nginxComment  = regexp.MustCompile(`(?m)#.*$`)
	nginxUpstream = regexp.MustCompile(`(?s)upstream\s+(\S+)\s*\{(.*?)\}`)
	nginxServer   = regexp.MustCompile(`(?m)^\s*server\s+(\S+)[^;]*;`)
	nginxSimple   = regexp.MustCompile(`(?m)^\s*([a-z_0-9]+)\s+([^;{}]*);`)
)

// ReadNginx reads an nginx configuration file.
func ReadNginx(path string) (Nginx, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Nginx{}, err
	}
	text := nginxComment.ReplaceAllString(string(raw), "")
	n := Nginx{Upstreams: map[string][]string{}, Directives: map[string][]string{}}
	for _, up := range nginxUpstream.FindAllStringSubmatch(text, -1) {
		for _, s := range nginxServer.FindAllStringSubmatch(up[2], -1) {
			n.Upstreams[up[1]] = append(n.Upstreams[up[1]], s[1])
		}
	}
	if len(n.Upstreams) == 0 {
		return n, fmt.Errorf("%s: no upstream block", path)
	}
	rest := nginxUpstream.ReplaceAllString(text, "")
	for _, d := range nginxSimple.FindAllStringSubmatch(rest, -1) {
		n.Directives[d[1]] = append(n.Directives[d[1]], strings.TrimSpace(d[2]))
	}
	return n, nil
}

// HAProxy is an HAProxy configuration: each section ("global",
// "frontend exekra_https", ...) with its lines, comments and blank lines dropped.
type HAProxy map[string][]string

// ReadHAProxy reads an HAProxy configuration file.
func ReadHAProxy(path string) (HAProxy, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := HAProxy{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			section = strings.Join(strings.Fields(line), " ")
			h[section] = nil
			continue
		}
		if section == "" {
			return nil, fmt.Errorf("%s: %q is outside any section", path, strings.TrimSpace(line))
		}
		h[section] = append(h[section], strings.Join(strings.Fields(line), " "))
	}
	return h, sc.Err()
}

// Lines returns the lines of section that start with keyword (a word or words).
func (h HAProxy) Lines(section, keyword string) []string {
	var out []string
	for _, l := range h[section] {
		if l == keyword || strings.HasPrefix(l, keyword+" ") {
			out = append(out, l)
		}
	}
	return out
}

// EnvFile reads KEY=VALUE lines as systemd's EnvironmentFile does (# starts
// a comment line).
func EnvFile(path string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []string
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "=") {
			return nil, fmt.Errorf("%s:%d: expected NAME=value", path, i+1)
		}
		out = append(out, line)
	}
	return out, nil
}
