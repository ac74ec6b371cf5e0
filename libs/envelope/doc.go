// Package envelope seals small secrets (asset values) at rest with envelope
// encryption.
//
// Every value gets its own random 32-byte data key. The value is encrypted
// with AES-256-GCM under that data key, bound to associated data that names
// where the value lives (see AAD), so a ciphertext copied to another row,
// scope or version does not open. The data key is itself encrypted
// ("wrapped") with AES-256-GCM under a key-encryption key (KEK) from a
// Keyring; that wrap is bound to the same associated data and to the KEK's
// id, so a wrapped key moved between rows does not open either. Nonces are
// 12 random bytes, stored in front of each ciphertext.
//
// A Keyring holds several KEKs, one of them primary: Seal always uses the
// primary, Open uses whichever key a value names, Rotate adds a new primary
// and keeps the old keys so existing values still open, and Rewrap moves a
// value's data key under the primary without touching its ciphertext. Keys
// no value uses any more can be removed with Retire.
//
// The keyring lives in a JSON file (mode 0600) outside the database:
//
//	{"primary": "k-20260101120000-1a2b",
//	 "keys": [{"id": "k-20260101120000-1a2b", "key": "<base64 of 32 bytes>",
//	           "created_at": "2026-01-01T12:00:00Z"}]}
//
// Errors of this package never carry key bytes or plaintext.
package envelope
