// Package licensing is the NATS contract of the licensing service (v1).
package licensing

// SubjectSetupState answers whether a license is active.
const SubjectSetupState = "exekra.licensing.v1.setup.state"

// SetupStateRequest has no fields.
type SetupStateRequest struct{}

// SetupState tells whether a license has been activated.
type SetupState struct {
	Licensed bool `json:"licensed"`
}
