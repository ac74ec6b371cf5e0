// Package identity is the NATS contract of the identity service (v1).
package identity

// SubjectSetupState answers whether the first admin exists.
const SubjectSetupState = "exekra.identity.v1.setup.state"

// SetupStateRequest has no fields.
type SetupStateRequest struct{}

// SetupState tells whether the Hub has been bootstrapped.
type SetupState struct {
	Bootstrapped bool `json:"bootstrapped"`
}
