package envelope

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

type fileKey struct {
	ID        string    `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

type fileRing struct {
	Primary string    `json:"primary"`
	Keys    []fileKey `json:"keys"`
}

// MaxFileBytes bounds a key file.
const MaxFileBytes = 1 << 20

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// LoadKeyring reads a keyring file. A missing file is an error for which
// errors.Is(err, fs.ErrNotExist) holds. A malformed file is an error naming
// the file and what is wrong, never the key bytes.
func LoadKeyring(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read the key file %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read the key file %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("the key file %s is a directory", path)
	}
	if st.Size() > MaxFileBytes {
		return nil, fmt.Errorf("the key file %s is malformed: larger than %d bytes", path, MaxFileBytes)
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, fmt.Errorf("read the key file %s: %w", path, err)
	}
	defer clear(data)
	k, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("the key file %s is malformed: %w", path, err)
	}
	return k, nil
}

func parse(data []byte) (*Keyring, error) {
	var fr fileRing
	if err := json.Unmarshal(data, &fr); err != nil {
		// A syntax or type error names an offset or a field, never the input.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("not valid JSON (at byte %d)", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("field %q has the wrong type", te.Field)
		}
		return nil, errors.New("not a keyring JSON object")
	}
	if len(fr.Keys) == 0 {
		return nil, errors.New(`it holds no key ("keys" is empty)`)
	}
	k := &Keyring{keys: make(map[string]*kek, len(fr.Keys))}
	for i, fk := range fr.Keys {
		if !keyIDPattern.MatchString(fk.ID) {
			return nil, fmt.Errorf("key %d has no valid id", i+1)
		}
		if _, dup := k.keys[fk.ID]; dup {
			return nil, fmt.Errorf("key %s is listed twice", fk.ID)
		}
		raw, err := base64.StdEncoding.DecodeString(fk.Key)
		if err != nil {
			return nil, fmt.Errorf("key %s is not base64", fk.ID)
		}
		if len(raw) != KeySize {
			clear(raw)
			return nil, fmt.Errorf("key %s is %d bytes, want %d", fk.ID, len(raw), KeySize)
		}
		e, err := newKEK(fk.ID, raw, fk.CreatedAt.UTC())
		clear(raw)
		if err != nil {
			return nil, err
		}
		k.keys[fk.ID] = e
	}
	if fr.Primary == "" {
		return nil, errors.New(`"primary" is missing`)
	}
	if _, ok := k.keys[fr.Primary]; !ok {
		return nil, fmt.Errorf("primary key %s is not among its keys", fr.Primary)
	}
	k.primary = fr.Primary
	return k, nil
}

// Save writes the keyring to path atomically (a temporary file in the same
// directory, then a rename), with mode 0600; a missing directory is created
// with mode 0700.
func (k *Keyring) Save(path string) error {
	ids := k.IDs()
	k.mu.RLock()
	fr := fileRing{Primary: k.primary}
	for _, id := range ids {
		e, ok := k.keys[id]
		if !ok {
			continue
		}
		fr.Keys = append(fr.Keys, fileKey{ID: e.id, Key: base64.StdEncoding.EncodeToString(e.key), CreatedAt: e.createdAt})
	}
	k.mu.RUnlock()
	data, err := json.MarshalIndent(fr, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the keyring: %w", err)
	}
	defer clear(data)
	data = append(data, '\n')

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create the directory of the key file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		_ = os.Remove(tmpName)
		done = true
		return fmt.Errorf("write the key file %s: %w", path, err)
	}
	done = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// OpenToOthers reports whether the file at path can be read or written by
// its group or by others (the key file should be 0600).
func OpenToOthers(path string) (bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return st.Mode().Perm()&0o077 != 0, nil
}
