package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exekra/hub/libs/config"
)

// siteKeys are the settings that belong to the machine rather than to the
// installation: where it listens, which servers it uses, where its programs
// are and which system user runs its database. A restore keeps the target
// install's own values of these (see stageSettings); everything else — the
// license keys, host names, TLS and audit settings — comes from the backup.
var siteKeys = []struct {
	key string
	get func(*config.Config) string
}{
	{"gateway.listen", func(c *config.Config) string { return c.Gateway.Listen }},
	{"gateway.metrics_listen", func(c *config.Config) string { return c.Gateway.MetricsListen }},
	{"identity.metrics_listen", func(c *config.Config) string { return c.Identity.MetricsListen }},
	{"licensing.metrics_listen", func(c *config.Config) string { return c.Licensing.MetricsListen }},
	{"runners.metrics_listen", func(c *config.Config) string { return c.Runners.MetricsListen }},
	{"audit.metrics_listen", func(c *config.Config) string { return c.Audit.MetricsListen }},
	{"supervisor.metrics_listen", func(c *config.Config) string { return c.Supervisor.MetricsListen }},
	{"supervisor.bin_dir", func(c *config.Config) string { return c.Supervisor.BinDir }},
	{"nats.url", func(c *config.Config) string { return c.NATS.URL }},
	{"nats.listen", func(c *config.Config) string { return c.NATS.Listen }},
	{"redis.url", func(c *config.Config) string { return c.Redis.URL }},
	{"redis.listen", func(c *config.Config) string { return c.Redis.Listen }},
	{"redis.server_path", func(c *config.Config) string { return c.Redis.ServerPath }},
	{"database.url", func(c *config.Config) string { return c.Database.URL }},
	{"database.identity_url", func(c *config.Config) string { return c.Database.IdentityURL }},
	{"database.licensing_url", func(c *config.Config) string { return c.Database.LicensingURL }},
	{"database.runners_url", func(c *config.Config) string { return c.Database.RunnersURL }},
	{"database.audit_url", func(c *config.Config) string { return c.Database.AuditURL }},
	{"database.private_listen", func(c *config.Config) string { return c.Database.PrivateListen }},
	{"database.private_os_user", func(c *config.Config) string { return c.Database.PrivateOSUser }},
}

// stageSettings copies the archive's install-dir files (extracted/home) to
// dst. When the target install already has settings (hub-config.json or
// .env), each site key it sets to something other than the default and
// other than the archive's value is kept: appended to dst's .env, which
// overrides hub-config.json. It returns the kept keys. (EXEKRA_* variables
// of the Hub's environment override both files anyway.)
func stageSettings(extracted, target, dst string) ([]string, error) {
	src := memberFile(extracted, strings.TrimSuffix(dirHome, "/"))
	if err := copyTree(src, dst); err != nil {
		return nil, fmt.Errorf("stage the settings: %w", err)
	}
	archived, err := config.Load(dst, nil)
	if err != nil {
		return nil, fmt.Errorf("the archive's settings: %w", err)
	}
	own, err := targetSettings(target)
	if err != nil || own == nil {
		return nil, err
	}
	defaults := config.Default("")
	var kept []string
	var lines bytes.Buffer
	for _, k := range siteKeys {
		v := k.get(own)
		if v == k.get(defaults) || v == k.get(archived) {
			continue
		}
		kept = append(kept, k.key)
		fmt.Fprintf(&lines, "%s=%s\n", config.EnvName(k.key), v)
	}
	if len(kept) == 0 {
		return nil, nil
	}
	env := filepath.Join(dst, ".env")
	old, err := os.ReadFile(env)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if len(old) > 0 && !bytes.HasSuffix(old, []byte("\n")) {
		old = append(old, '\n')
	}
	note := fmt.Sprintf("\n# Kept from this install's own settings by exekractl restore, %s:\n", time.Now().UTC().Format(time.RFC3339))
	data := append(append(old, note...), lines.Bytes()...)
	if err := os.WriteFile(env, data, 0o600); err != nil {
		return nil, err
	}
	if _, err := config.Load(dst, nil); err != nil {
		return nil, fmt.Errorf("the merged settings: %w", err)
	}
	return kept, nil
}

// targetSettings loads the target's own settings (no environment), or nil
// when it has none.
func targetSettings(target string) (*config.Config, error) {
	file := filepath.Join(target, config.FileName)
	env := filepath.Join(target, ".env")
	_, ferr := os.Stat(file)
	_, eerr := os.Stat(env)
	if ferr != nil && eerr != nil {
		return nil, nil
	}
	tmp, err := os.MkdirTemp("", "exekra-restore-settings-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	data := config.DefaultFile()
	if ferr == nil {
		if data, err = os.ReadFile(file); err != nil {
			return nil, err
		}
	}
	if err := writeFile(filepath.Join(tmp, config.FileName), data, 0o600); err != nil {
		return nil, err
	}
	if eerr == nil {
		b, err := os.ReadFile(env)
		if err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(tmp, ".env"), b, 0o600); err != nil {
			return nil, err
		}
	}
	cfg, err := config.Load(tmp, nil)
	if err != nil {
		return nil, fmt.Errorf("this install's own settings: %w", err)
	}
	return cfg, nil
}

// installSettings writes the staged files into the target install dir. A
// file there that differs is first renamed to <name>.before-restore; the
// renamed files are returned (relative to target).
func installSettings(staged, target string) (written, moved []string, err error) {
	err = eachFile(staged, func(rel string, data []byte, mode fs.FileMode) error {
		dest := filepath.Join(target, rel)
		if err := mkdirAllLike(filepath.Dir(dest)); err != nil {
			return err
		}
		like := filepath.Dir(dest)
		if old, err := os.ReadFile(dest); err == nil {
			if bytes.Equal(old, data) {
				written = append(written, rel)
				return os.Chmod(dest, mode)
			}
			if err := os.Rename(dest, dest+".before-restore"); err != nil {
				return err
			}
			moved = append(moved, rel+".before-restore")
			like = dest + ".before-restore"
		}
		written = append(written, rel)
		if err := writeFile(dest, data, mode); err != nil {
			return err
		}
		return chownLike(dest, like)
	})
	return written, moved, err
}

// copyTree copies the regular files under src to dst, keeping their modes.
func copyTree(src, dst string) error {
	return eachFile(src, func(rel string, data []byte, mode fs.FileMode) error {
		return writeFile(filepath.Join(dst, rel), data, mode)
	})
}

// eachFile calls fn with every regular file under root: its path relative
// to root, its bytes and its permission bits.
func eachFile(root string, fn func(rel string, data []byte, mode fs.FileMode) error) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return fn(rel, data, info.Mode().Perm())
	})
}

// writeFile writes data with exactly mode (secrets stay 0600 whatever the
// umask), making parent directories as the supervisor does (0755).
func writeFile(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(data)
	if err := errors.Join(werr, tmp.Chmod(mode), tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
