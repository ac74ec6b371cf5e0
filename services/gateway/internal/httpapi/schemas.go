package httpapi

import (
	"reflect"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/exekra/hub/services/gateway/internal/httpapi/schema"
	"github.com/getkin/kin-openapi/openapi3"
)

// Pages of lists (pageLimit).
const (
	defaultPageLimit = 50
	maxPageLimit     = 500
)

// errorCodes are the codes of docs/api.md, every one an errs.Kind.
var errorCodes = []errs.Kind{
	errs.InvalidArgument, errs.InvalidLicense, errs.EmailMismatch, errs.Unauthenticated, errs.InvalidCredentials,
	errs.PermissionDenied, errs.LicenseRequired, errs.LicenseLimit, errs.NotFound, errs.Conflict, errs.AlreadyBootstrap,
	errs.LastAdmin, errs.AssetMissing, errs.PayloadTooLarge, errs.UpgradeRequired, errs.RateLimited, errs.Unavailable, errs.Internal,
}

var roles = []string{identity.RoleOperator, identity.RoleDeveloper, identity.RoleAdmin}

// requestRequired lists the fields a request body must hold: those the
// service refuses to do without. Others may be left out.
var requestRequired = map[reflect.Type][]string{
	reflect.TypeFor[identity.BootstrapRequest]():  {"email", "password", "name"},
	reflect.TypeFor[identity.LoginRequest]():      {"email", "password"},
	reflect.TypeFor[identity.CreateUserRequest](): {"email", "password", "name"},
	reflect.TypeFor[licensing.ActivateRequest]():  {"license"},
	reflect.TypeFor[licensing.ReceiptRequest]():   {"receipt"},
	reflect.TypeFor[runners.RegisterRequest]():    {"name", "environment"},
	reflect.TypeFor[runners.CreateJobRequest]():   {"package", "environment"},
	reflect.TypeFor[runners.CreateJobsRequest]():  {"jobs"},
	reflect.TypeFor[runners.CompleteBody]():       {"status"},
	reflect.TypeFor[runners.ClaimCompletion]():    {"job_id", "status"},
	reflect.TypeFor[runners.AgentLogLine]():       {"stream"},
	reflect.TypeFor[runners.ScheduleSpec]():       {"name", "package", "environment"},
	reflect.TypeFor[runners.CalendarSpec]():       {"name"},
	reflect.TypeFor[runners.CreateAssetRequest](): {"name", "type"},
	reflect.TypeFor[runners.AssetValueBody]():     {"value"},
}

func enum[T any](values ...T) func(*openapi3.Schema) {
	return func(s *openapi3.Schema) {
		for _, v := range values {
			s.Enum = append(s.Enum, v)
		}
	}
}

func describe(d string) func(*openapi3.Schema) { return func(s *openapi3.Schema) { s.Description = d } }

// shownAssetValue is an asset value as people see it: a string, an integer,
// a boolean or null (write-only). OpenAPI 3.0 allows null only beside a type.
func shownAssetValue(d string) func(*openapi3.Schema) {
	return func(s *openapi3.Schema) {
		s.Description = d
		s.AnyOf = openapi3.SchemaRefs{
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Nullable: true}),
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Format: "int64"}),
			openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean}}),
		}
	}
}

func between(lo, hi float64) func(*openapi3.Schema) {
	return func(s *openapi3.Schema) { s.Min, s.Max = &lo, &hi }
}

// anObject narrows job parameters (any JSON in Go) to the object the runners
// service makes of them; a request may send null for none.
func anObject(nullable bool) func(*openapi3.Schema) {
	return func(s *openapi3.Schema) {
		s.Type, s.Nullable = &openapi3.Types{openapi3.TypeObject}, nullable
		s.Description = "The job's parameters: an object (at most 64 KiB) the program reads as JSON on standard input and as EXEKRA_PARAM_<NAME> variables."
	}
}

var upDown = enum(health.Up, health.Down)

// withEnum limits a field to values and says what they mean.
func withEnum(values []string, description string) func(*openapi3.Schema) {
	return func(s *openapi3.Schema) {
		enum(values...)(s)
		s.Description = description
	}
}

func maxLength(n uint64) func(*openapi3.Schema) { return func(s *openapi3.Schema) { s.MaxLength = &n } }

const (
	concurrencyText = "What a fire does while the previous job is live: skip (the default) records it as skipped_concurrency; " +
		"queue waits for that job to end (at most 10 wait); allow starts beside it."
	misfireText = "What happens to fire times missed while the Hub was down: fire_once (the default) fires the latest now and records the others as missed; " +
		"skip records them all as missed."
)

const (
	assetTypeText  = "text, integer and boolean values are shown to every signed-in role; credential ({\"username\",\"password\"}) and secret (a string) values are write-only."
	scopeText      = "global: every runner; environment: the runners of one environment; runner: one runner. A runner gets the most specific one."
	assetValueText = "A JSON value of the asset's type: a string (text, secret), an integer, a boolean, " +
		"or {\"username\",\"password\"} with both non-empty (credential); at most 16 KiB."
)

// assetName is the pattern and length of an asset's name.
func assetName(s *openapi3.Schema) {
	s.Pattern = "^[A-Za-z_][A-Za-z0-9_]*$"
	maxLen := uint64(runners.MaxAssetNameLen)
	s.MaxLength = &maxLen
}

// fieldRefinements state what the contract's comments say of a field: the
// values it takes, its range.
var fieldRefinements = map[schema.Field]func(*openapi3.Schema){
	schema.FieldOf[web.ErrorDetail]("code"):    enum(errorCodes...),
	schema.FieldOf[web.ErrorDetail]("message"): describe("A sentence for a human, naming what was wrong."),

	schema.FieldOf[healthcheck.Report]("status"):  enum("ok", "degraded"),
	schema.FieldOf[healthcheck.Report]("nats"):    upDown,
	schema.FieldOf[healthcheck.Report]("version"): describe("The gateway's semantic version."),
	schema.FieldOf[healthcheck.Report]("commit"):  describe("The commit the gateway was built from; unknown when the build recorded none."),
	schema.FieldOf[healthcheck.Report]("redis"):   upDown,
	schema.FieldOf[healthcheck.Report]("services"): func(s *openapi3.Schema) {
		upDown(s.AdditionalProperties.Schema.Value)
		s.Description = "Each back-end service (identity, licensing, runners, audit): up or down."
	},
	schema.FieldOf[healthcheck.Database]("status"): enum(health.Up, health.Down, "unknown"),

	schema.FieldOf[identity.User]("role"): enum(roles...),
	schema.FieldOf[identity.User]("source"): withEnum(identity.Sources, "Where the user's identity comes from: local (a password the Hub keeps), directory (LDAP or Active Directory), "+
		"oidc (an OpenID Connect provider) or service (a service account: API tokens only)."),
	schema.FieldOf[identity.CreateUserRequest]("role"): enum(roles...),
	schema.FieldOf[userPatch]("role"):                  enum(roles...),

	schema.FieldOf[licensing.Status]("status"):   enum(licensing.StatusActive, licensing.StatusGrace, licensing.StatusExpired),
	schema.FieldOf[licensing.Validation]("mode"): enum("online", "offline"),

	schema.FieldOf[runners.Runner]("environment"):          enum(runners.Environments...),
	schema.FieldOf[runners.Runner]("status"):               enum(runners.Statuses...),
	schema.FieldOf[runners.Runner]("version"):              describe("The version its agent last reported; empty until its first heartbeat."),
	schema.FieldOf[runners.Runner]("commit"):               describe("The commit its agent was built from, as last reported; empty until then."),
	schema.FieldOf[runners.Heartbeat]("version"):           describe("The agent's semantic version, held to the Hub's skew policy (426 upgrade_required outside it)."),
	schema.FieldOf[runners.Heartbeat]("commit"):            describe("The commit the agent was built from."),
	schema.FieldOf[runners.RegisterRequest]("environment"): enum(runners.Environments...),
	schema.FieldOf[runners.Metrics]("cpu_percent"):         between(0, 100),
	schema.FieldOf[runners.Metrics]("memory_percent"):      between(0, 100),
	schema.FieldOf[runners.Metrics]("disk_free_bytes"):     func(s *openapi3.Schema) { s.Min = new(float64) },

	schema.FieldOf[runners.Job]("status"):                    enum(runners.JobStatuses...),
	schema.FieldOf[runners.Job]("environment"):               enum(runners.Environments...),
	schema.FieldOf[runners.Job]("parameters"):                anObject(false),
	schema.FieldOf[runners.ClaimedJob]("parameters"):         anObject(false),
	schema.FieldOf[runners.JobAttempt]("outcome"):            enum(runners.AttemptOutcomes...),
	schema.FieldOf[runners.JobAttempt]("number"):             describe("The fencing attempt number the runner was given (the first claim is 1)."),
	schema.FieldOf[runners.JobAttempt]("started_at"):         describe("When the runner claimed the job."),
	schema.FieldOf[runners.JobAttempt]("running_at"):         describe("When the runner first reported on the job; null until it did."),
	schema.FieldOf[runners.JobAttempt]("reason"):             describe("The job's error, or why the Hub ended the attempt; empty when none."),
	schema.FieldOf[runners.JobsWaiting]("environment"):       enum(runners.Environments...),
	schema.FieldOf[runners.RunnersOnlineHour]("environment"): enum(runners.Environments...),
	schema.FieldOf[runners.CreateJobRequest]("environment"):  enum(runners.Environments...),
	schema.FieldOf[runners.CreateJobRequest]("parameters"):   anObject(true),
	schema.FieldOf[runners.CreateJobRequest]("idempotency_key"): func(s *openapi3.Schema) {
		s.Deprecated = true
		s.Description = "Ignored: send the Idempotency-Key header instead."
	},
	schema.FieldOf[runners.CreateJobsRequest]("jobs"): func(s *openapi3.Schema) {
		s.Description = "The jobs to start, each as the body of POST /api/v1/jobs; all are created or none."
		s.MinItems, s.MaxItems = 1, new(uint64)
		*s.MaxItems = runners.MaxJobBatch
	},
	schema.FieldOf[runners.CreateJobsRequest]("idempotency_key"): func(s *openapi3.Schema) {
		s.Deprecated = true
		s.Description = "Ignored: send the Idempotency-Key header instead."
	},
	schema.FieldOf[runners.Package]("parameters"): func(s *openapi3.Schema) {
		s.Nullable = true
		s.Description = "The parameters the package's exekra.json declares: null when it declares none (a job may carry any parameters), [] when it takes none."
	},
	schema.FieldOf[runners.Parameter]("type"): enum(runners.ParamTypes...),
	schema.FieldOf[runners.Parameter]("name"): func(s *openapi3.Schema) {
		s.Pattern = "^[A-Za-z_][A-Za-z0-9_]*$"
		maxLen := uint64(runners.MaxParamNameLen)
		s.MaxLength = &maxLen
	},
	schema.FieldOf[runners.Parameter]("default"):      describe("A value of the parameter's type, given to a job that leaves the parameter out. Never on a required parameter."),
	schema.FieldOf[runners.Parameter]("enum"):         describe("The values allowed, when the package limits them."),
	schema.FieldOf[runners.LogLine]("stream"):         enum("stdout", "stderr"),
	schema.FieldOf[runners.AgentLogLine]("stream"):    enum("stdout", "stderr"),
	schema.FieldOf[runners.CompleteBody]("status"):    enum(runners.JobSucceeded, runners.JobFailed, runners.JobCanceled),
	schema.FieldOf[runners.ClaimCompletion]("status"): enum(runners.JobSucceeded, runners.JobFailed, runners.JobCanceled),
	schema.FieldOf[runners.ClaimCompletion]("lines"):  describe("The attempt's last log lines (at most 1,000), stored with the result."),
	schema.FieldOf[runners.CompleteBody]("lines"):     describe("The attempt's last log lines (at most 1,000), stored with the result in one transaction: a job whose claim took it up and that printed little needs no log upload."),
	schema.FieldOf[runners.ClaimedJob]("status"): withEnum([]string{runners.JobClaimed, runners.JobRunning},
		"running when the claim took the job up (Exekra-Claim-Start: true), claimed otherwise: take a claimed job up with a log upload before anything else. A Hub that names it reads the job's result on the runner's next claim."),

	schema.FieldOf[runners.ScheduleSpec]("environment"):      enum(runners.Environments...),
	schema.FieldOf[runners.ScheduleSpec]("parameters"):       anObject(true),
	schema.FieldOf[runners.ScheduleSpec]("concurrency"):      withEnum(runners.ConcurrencyPolicies, concurrencyText),
	schema.FieldOf[runners.ScheduleSpec]("misfire"):          withEnum(runners.MisfirePolicies, misfireText),
	schema.FieldOf[runners.ScheduleSpec]("interval_seconds"): between(0, runners.MaxIntervalSeconds),
	schema.FieldOf[runners.ScheduleSpec]("name"):             maxLength(runners.MaxScheduleNameLength),
	schema.FieldOf[runners.ScheduleSpec]("cron"): describe("Five fields \"min hour dom month dow\" (or six, seconds first), names allowed, " +
		"or @hourly, @daily, @weekly, @monthly, @yearly; read in time_zone. Exactly one of cron and interval_seconds is set."),
	schema.FieldOf[runners.ScheduleSpec]("time_zone"):    describe("An IANA time zone name such as Europe/Berlin; UTC when empty."),
	schema.FieldOf[runners.ScheduleSpec]("version"):      describe("A version, or empty or \"latest\" for the newest version at each fire."),
	schema.FieldOf[runners.ScheduleSpec]("calendar_ids"): func(s *openapi3.Schema) { s.MaxItems = new(uint64); *s.MaxItems = runners.MaxCalendarsPerSched },
	schema.FieldOf[runners.ScheduleSpec]("paused"):       describe("Create (or keep) the schedule paused."),
	schema.FieldOf[runners.Schedule]("environment"):      enum(runners.Environments...),
	schema.FieldOf[runners.Schedule]("parameters"):       anObject(true),
	schema.FieldOf[runners.Schedule]("concurrency"):      withEnum(runners.ConcurrencyPolicies, concurrencyText),
	schema.FieldOf[runners.Schedule]("misfire"):          withEnum(runners.MisfirePolicies, misfireText),
	schema.FieldOf[runners.Schedule]("state"): withEnum(runners.ScheduleStates,
		"active fires; paused does not until resumed; ended is past its end_at and fires no more (a later end_at revives it)."),
	schema.FieldOf[runners.Schedule]("version"):             describe("The version its jobs run; \"latest\" when it follows the newest."),
	schema.FieldOf[runners.Schedule]("next_fire_at"):        describe("The next fire time; null unless active."),
	schema.FieldOf[runners.ScheduleFire]("kind"):            withEnum([]string{runners.FireScheduled, runners.FireManual}, "scheduled: a fire time of the schedule; manual: a run now."),
	schema.FieldOf[runners.ScheduleFire]("outcome"):         enum(runners.FireOutcomes...),
	schema.FieldOf[runners.ScheduleFire]("lag_seconds"):     describe("From fire_time to its job's creation; null without a job."),
	schema.FieldOf[runners.NextFire]("local"):               describe("The same instant in the schedule's time zone, RFC 3339 with its offset."),
	schema.FieldOf[runners.NextFire]("skipped_by_calendar"): describe("The id of the calendar that will skip this fire time; null when none does."),
	schema.FieldOf[runners.CalendarSpec]("dates"): func(s *openapi3.Schema) {
		s.Description = "Non-working days, YYYY-MM-DD, in time_zone."
		s.MaxItems = new(uint64)
		*s.MaxItems = runners.MaxCalendarDates
	},
	schema.FieldOf[runners.CalendarSpec]("time_zone"): describe("An IANA time zone name; UTC when empty."),

	schema.FieldOf[runners.Package]("assets"):         describe("The assets the package's exekra.json declares (\"assets\"): a job of this version receives their values; [] when it declares none."),
	schema.FieldOf[runners.Asset]("name"):             assetName,
	schema.FieldOf[runners.Asset]("type"):             withEnum(runners.AssetTypes, assetTypeText),
	schema.FieldOf[runners.Asset]("write_only"):       describe("True for credential and secret assets: their values are never shown to people."),
	schema.FieldOf[runners.Asset]("values"):           describe("Its values by scope: global first, then each environment, then each runner by name."),
	schema.FieldOf[runners.AssetValue]("scope"):       withEnum([]string{runners.ScopeGlobal, runners.ScopeEnvironment, runners.ScopeRunner}, scopeText),
	schema.FieldOf[runners.AssetValue]("environment"): withEnum(runners.Environments, "The environment, for the environment scope."),
	schema.FieldOf[runners.AssetValue]("runner_id"):   describe("The runner, for the runner scope."),
	schema.FieldOf[runners.AssetValue]("runner_name"): describe("The runner's name, for the runner scope; null once the runner is deleted."),
	schema.FieldOf[runners.AssetValue]("value"): shownAssetValue("The value, for text (a string), integer and boolean assets; " +
		"always null for credential and secret assets, whose values are write-only."),
	schema.FieldOf[runners.AssetValue]("version"):             describe("How many times this scope's value was set (the first is 1)."),
	schema.FieldOf[runners.CreateAssetRequest]("name"):        assetName,
	schema.FieldOf[runners.CreateAssetRequest]("type"):        withEnum(runners.AssetTypes, assetTypeText),
	schema.FieldOf[runners.CreateAssetRequest]("description"): maxLength(runners.MaxAssetDescription),
	schema.FieldOf[runners.CreateAssetRequest]("value"):       describe("Its global value, when sent: " + assetValueText),
	schema.FieldOf[runners.AssetValueBody]("value"):           describe(assetValueText),
	schema.FieldOf[assetPatch]("description"):                 maxLength(runners.MaxAssetDescription),
	schema.FieldOf[runners.AgentAsset]("type"):                enum(runners.AssetTypes...),
	schema.FieldOf[runners.AgentAsset]("scope"):               withEnum([]string{runners.ScopeGlobal, runners.ScopeEnvironment, runners.ScopeRunner}, "The scope the value came from: the runner's own, else its environment's, else the global one."),
	schema.FieldOf[runners.AgentAsset]("value"):               describe(assetValueText),

	schema.FieldOf[identity.CreatedToken]("token"): describe("The API token (exk_pat_… for a person, exk_sat_… for a service account), shown this once: the Hub keeps only its SHA-256."),
	schema.FieldOf[identity.APIToken]("prefix"):    describe("The token's first 12 characters, to recognise it."),
	schema.FieldOf[audit.Actor]("token_id"):        describe("The API token the user acted with; absent for a session."),

	schema.FieldOf[audit.Record]("outcome"): enum(audit.Success, audit.Failure),
	schema.FieldOf[audit.Actor]("type"):     enum(audit.ActorUser, audit.ActorRunner, audit.ActorSystem),
}

var schemaNames = map[reflect.Type]string{
	reflect.TypeFor[web.ErrorBody]():                 "Error",
	reflect.TypeFor[web.ErrorDetail]():               "ErrorDetail",
	reflect.TypeFor[healthcheck.Report]():            "HealthReport",
	reflect.TypeFor[healthcheck.Database]():          "HealthDatabase",
	reflect.TypeFor[identity.ListUsersResponse]():    "UserList",
	reflect.TypeFor[identity.ListTokensResponse]():   "TokenList",
	reflect.TypeFor[userPatch]():                     "UserPatch",
	reflect.TypeFor[licensing.Status]():              "LicenseStatus",
	reflect.TypeFor[licensing.Validation]():          "LicenseValidation",
	reflect.TypeFor[licensing.Usage]():               "LicenseUsage",
	reflect.TypeFor[runners.ListResponse]():          "RunnerList",
	reflect.TypeFor[runners.Registered]():            "RegisteredRunner",
	reflect.TypeFor[runners.Metrics]():               "RunnerMetrics",
	reflect.TypeFor[runners.ListJobsResponse]():      "JobList",
	reflect.TypeFor[runners.ListPackagesResponse]():  "PackageList",
	reflect.TypeFor[auditPage]():                     "AuditPage",
	reflect.TypeFor[audit.Record]():                  "AuditRecord",
	reflect.TypeFor[audit.Actor]():                   "AuditActor",
	reflect.TypeFor[audit.Target]():                  "AuditTarget",
	reflect.TypeFor[audit.VerifyResponse]():          "AuditVerification",
	reflect.TypeFor[audit.StreamCheck]():             "AuditStreamCheck",
	reflect.TypeFor[audit.CheckpointsResponse]():     "AuditCheckpoints",
	reflect.TypeFor[audit.Checkpoint]():              "AuditCheckpoint",
	reflect.TypeFor[runners.PackageVersions]():       "PackageVersions",
	reflect.TypeFor[runners.Parameter]():             "PackageParameter",
	reflect.TypeFor[runners.HeartbeatResponse]():     "HeartbeatResponse",
	reflect.TypeFor[identity.Session]():              "Session",
	reflect.TypeFor[runners.CreateJobRequest]():      "CreateJobRequest",
	reflect.TypeFor[runners.RegisterRequest]():       "RegisterRunnerRequest",
	reflect.TypeFor[runners.MachineSecret]():         "MachineSecret",
	reflect.TypeFor[licensing.ActivateRequest]():     "ActivateLicenseRequest",
	reflect.TypeFor[licensing.ReceiptRequest]():      "ImportReceiptRequest",
	reflect.TypeFor[identity.BootstrapRequest]():     "BootstrapRequest",
	reflect.TypeFor[identity.CreateUserRequest]():    "CreateUserRequest",
	reflect.TypeFor[identity.LoginRequest]():         "LoginRequest",
	reflect.TypeFor[runners.LogsBody]():              "UploadLogsRequest",
	reflect.TypeFor[runners.CompleteBody]():          "CompleteJobRequest",
	reflect.TypeFor[runners.ClaimBody]():             "ClaimRequest",
	reflect.TypeFor[runners.ClaimCompletion]():       "ClaimCompletion",
	reflect.TypeFor[runners.Heartbeat]():             "Heartbeat",
	reflect.TypeFor[runners.AgentLogLine]():          "UploadedLogLine",
	reflect.TypeFor[SetupState]():                    "SetupState",
	reflect.TypeFor[runners.ListSchedulesResponse](): "ScheduleList",
	reflect.TypeFor[runners.ListFiresResponse]():     "ScheduleFireList",
	reflect.TypeFor[runners.ListCalendarsResponse](): "CalendarList",
	reflect.TypeFor[runners.NextFires]():             "NextFires",
	reflect.TypeFor[runners.ListAssetsResponse]():    "AssetList",
	reflect.TypeFor[assetPatch]():                    "AssetPatch",
}

var schemaDescriptions = map[reflect.Type]string{
	reflect.TypeFor[web.ErrorBody]():              "Every error answer: a code of the fixed list and a sentence for a human.",
	reflect.TypeFor[healthcheck.Report]():         "The health of the Hub: each part up or down; status degraded (and 503) when any is down.",
	reflect.TypeFor[identity.User]():              "A user; never a password or its hash.",
	reflect.TypeFor[identity.Session]():           "A signed-in session: the token is shown only here.",
	reflect.TypeFor[userPatch]():                  "The fields to change; those left out stay. A role change, disable or password change ends the user's sessions.",
	reflect.TypeFor[licensing.Status]():           "The active license and where it stands.",
	reflect.TypeFor[runners.Runner]():             "A runner as the registry shows it; never its secret.",
	reflect.TypeFor[runners.Registered]():         "A new runner and its machine secret, shown only here.",
	reflect.TypeFor[runners.Job]():                "A job. runner_id is the runner that holds or last held it, else the one it targets.",
	reflect.TypeFor[runners.ClaimedJob]():         "A job handed to a runner; attempt is the fencing number its logs and completion carry.",
	reflect.TypeFor[runners.ClaimCompletion]():    "The result of a job this runner ran, riding on its next claim: stored as POST /api/v1/runner/jobs/{id}/complete stores it, before the claim looks for a job.",
	reflect.TypeFor[runners.Package]():            "A published package version.",
	reflect.TypeFor[runners.Parameter]():          "A parameter a package declares in exekra.json; a job of the package is checked against it.",
	reflect.TypeFor[runners.CreateJobRequest]():   "A job to start. version absent means the latest; max_attempts 0 means 1; timeout_seconds 0 means 3600.",
	reflect.TypeFor[runners.ScheduleSpec]():       "A schedule to create, or the whole new spec of one (PUT). Exactly one of cron and interval_seconds; max_attempts 0 means 1; timeout_seconds 0 means 3600.",
	reflect.TypeFor[runners.Schedule]():           "A schedule: its spec with the defaults filled in, its state and what it did last.",
	reflect.TypeFor[runners.ScheduleFire]():       "One fire of a schedule: a fire time (kind scheduled) or a run now (kind manual), its outcome and its job.",
	reflect.TypeFor[runners.NextFire]():           "A coming fire time of a schedule.",
	reflect.TypeFor[runners.CalendarSpec]():       "A calendar of non-working days to create, or the whole new spec of one (PUT).",
	reflect.TypeFor[runners.Calendar]():           "A calendar of non-working days: a schedule using it skips fire times on its dates.",
	reflect.TypeFor[runners.Asset]():              "An asset: a named setting or credential, with its values by scope. Credential and secret values are never shown.",
	reflect.TypeFor[runners.AssetValue]():         "One scope's value of an asset as people see it: value is null for credential and secret assets.",
	reflect.TypeFor[runners.CreateAssetRequest](): "An asset to create; value, when sent, becomes its global value.",
	reflect.TypeFor[runners.AssetValueBody]():     "The value to set for one scope of an asset.",
	reflect.TypeFor[assetPatch]():                 "The fields to change; the name and the type never change.",
	reflect.TypeFor[runners.AgentAssets]():        "The values a runner gets for a job: one per asset its package declares, for the runner's scope.",
	reflect.TypeFor[runners.AgentAsset]():         "One asset's value handed to a runner.",
	reflect.TypeFor[audit.Record]():               "An audited action as the log holds it, chained to the one before by its hash.",
}
