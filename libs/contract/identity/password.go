package identity

import "github.com/exekra/hub/libs/errs"

// MaxPasswordBytes bounds a password wherever one is sent, signing in
// included. The password policy allows at most 256 characters, which UTF-8
// holds in 1,024 bytes; anything longer is no password anyone can have, and
// must be refused before it is sent on: JSON-encoded, a body of a few
// hundred kilobytes could outgrow the message bus's 1 MiB.
const MaxPasswordBytes = 1024

// CheckPasswordSize refuses a password longer than MaxPasswordBytes. The
// policy itself (length in characters, common passwords) is the identity
// service's.
func CheckPasswordSize(password string) error {
	if len(password) > MaxPasswordBytes {
		return errs.Ef(errs.InvalidArgument, "password must be at most %d bytes", MaxPasswordBytes)
	}
	return nil
}

// Check bounds the request before it is sent on.
func (r BootstrapRequest) Check() error { return CheckPasswordSize(r.Password) }

// Check bounds the request before it is sent on.
func (r LoginRequest) Check() error { return CheckPasswordSize(r.Password) }

// Check bounds the request before it is sent on.
func (r CreateUserRequest) Check() error { return CheckPasswordSize(r.Password) }

// Check bounds the request before it is sent on.
func (r UpdateUserRequest) Check() error {
	if r.Password == nil {
		return nil
	}
	return CheckPasswordSize(*r.Password)
}
