package job

import (
	"slices"
	"strings"
	"unicode"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Limits of what a job is started with and what a runner reports.
const (
	MaxNameLen         = 100
	MaxVersionLen      = 64
	MaxLabels          = 32
	MaxLabelLen        = 64
	MaxParametersBytes = 64 << 10
	DefaultMaxAttempts = 1
	MaxMaxAttempts     = 10
	DefaultTimeout     = 3600
	MaxTimeout         = 7 * 24 * 3600
	MaxLogLines        = 1000 // per upload, and per read
	MaxLogMessage      = 64 << 10
	MaxErrorLen        = 1000
	MaxKeyLen          = 128 // an Idempotency-Key or a claim id
	// Truncated is the last line of a log that reached the cap.
	Truncated = "[log truncated]"
)

// latestVersion names the newest published version of a package.
const latestVersion = "latest"

// validateNew checks a new job and fills its defaults.
func validateNew(in NewJob) (NewJob, error) {
	in.Package, in.Version = strings.TrimSpace(in.Package), strings.TrimSpace(in.Version)
	if in.Version == "" {
		in.Version = latestVersion
	}
	switch {
	case in.Package == "" || len(in.Package) > MaxNameLen || !printable(in.Package):
		return in, errs.Ef(errs.InvalidArgument, "package must be a name of 1 to %d printable characters", MaxNameLen)
	case len(in.Version) > MaxVersionLen || !printable(in.Version):
		return in, errs.Ef(errs.InvalidArgument, "version must be at most %d printable characters", MaxVersionLen)
	case !slices.Contains(runners.Environments, in.Environment):
		return in, errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	}
	if in.RunnerID != "" {
		if _, err := uuid.Parse(in.RunnerID); err != nil || len(in.RunnerID) != 36 {
			return in, errs.E(errs.InvalidArgument, "runner_id must be a runner's id")
		}
		in.RunnerID = strings.ToLower(in.RunnerID)
	}
	var err error
	if in.Labels, err = validateLabels(in.Labels); err != nil {
		return in, err
	}
	if in.Parameters, err = normalizeParameters(in.Parameters); err != nil {
		return in, err
	}
	if err := checkKey("Idempotency-Key", in.IdempotencyKey); err != nil {
		return in, err
	}
	return limits(in)
}

func limits(in NewJob) (NewJob, error) {
	if in.MaxAttempts == 0 {
		in.MaxAttempts = DefaultMaxAttempts
	}
	if in.TimeoutSeconds == 0 {
		in.TimeoutSeconds = DefaultTimeout
	}
	if in.MaxAttempts < 1 || in.MaxAttempts > MaxMaxAttempts {
		return in, errs.Ef(errs.InvalidArgument, "max_attempts must be from 1 to %d", MaxMaxAttempts)
	}
	if in.TimeoutSeconds < 1 || in.TimeoutSeconds > MaxTimeout {
		return in, errs.Ef(errs.InvalidArgument, "timeout_seconds must be from 1 to %d", MaxTimeout)
	}
	return in, nil
}

// validateLabels checks labels as the registry does, without duplicates.
func validateLabels(labels []string) ([]string, error) {
	if len(labels) > MaxLabels {
		return nil, errs.Ef(errs.InvalidArgument, "a job asks for at most %d labels", MaxLabels)
	}
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		if len(l) < 1 || len(l) > MaxLabelLen || strings.IndexFunc(l, notLabelRune) >= 0 {
			return nil, errs.Ef(errs.InvalidArgument,
				"a label must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_' and '-'", MaxLabelLen)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func notLabelRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

// checkKey refuses a client-chosen key ("" is none) that is not 1 to
// MaxKeyLen visible ASCII characters.
func checkKey(what, key string) error {
	if len(key) > MaxKeyLen || strings.IndexFunc(key, func(r rune) bool { return r <= ' ' || r > '~' }) >= 0 {
		return errs.Ef(errs.InvalidArgument, "%s must be at most %d visible ASCII characters", what, MaxKeyLen)
	}
	return nil
}

func printable(s string) bool { return strings.IndexFunc(s, unicode.IsControl) < 0 }

// checkID refuses an id that is not a UUID (it cannot name a job).
func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.E(errs.NotFound, "no job has this id")
	}
	return nil
}
