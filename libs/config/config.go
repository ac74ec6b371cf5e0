// Package config reads the Hub's settings: config/hub-config.json under the
// install dir, then <install-dir>/.env, then EXEKRA_* environment variables,
// each overriding the one before. A key maps to its variable by upper-casing
// and turning dots into underscores (database.url <-> EXEKRA_DATABASE_URL).
// Unknown keys and unknown EXEKRA_* variables are errors that name the key.
package config

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// FileName is the settings file, relative to the install dir.
const FileName = "config/hub-config.json"

// EnvPrefix starts every variable that overrides a key.
const EnvPrefix = "EXEKRA_"

// WithoutSettings is environ without the Hub's EXEKRA_* settings, which may
// hold secrets: the environment for servers the Hub starts (PostgreSQL, Redis).
func WithoutSettings(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, EnvPrefix) {
			out = append(out, kv)
		}
	}
	return out
}

// Config is every setting of every Hub process. Each process reads the parts it needs.
type Config struct {
	Home       string     `json:"-"`
	Hub        Hub        `json:"hub"`
	Gateway    Gateway    `json:"gateway"`
	TLS        TLS        `json:"tls"`
	Database   Database   `json:"database"`
	Redis      Redis      `json:"redis"`
	NATS       NATS       `json:"nats"`
	Log        Log        `json:"log"`
	Metrics    Metrics    `json:"metrics"`
	License    License    `json:"license"`
	Identity   Identity   `json:"identity"`
	Licensing  Service    `json:"licensing"`
	Runners    Runners    `json:"runners"`
	Audit      Audit      `json:"audit"`
	Supervisor Supervisor `json:"supervisor"`
}

// Hub holds installation-wide settings.
type Hub struct {
	HostNames []string `json:"host_names" doc:"names clients use to reach the Hub; they go into the self-signed certificate"`
	// CredentialsDir holds each process's keys to NATS (nats-<process>.nk)
	// and passwords to Redis (redis-<process>.password). The pilot creates
	// them at first start; an enterprise host holds its own process's only.
	CredentialsDir string `json:"credentials_dir" doc:"directory of the processes' NATS keys and Redis passwords, relative to the install dir (created by the pilot)"`
}

// Gateway holds the HTTPS front door's settings.
type Gateway struct {
	Listen         string   `json:"listen" doc:"HTTPS address of the API and console"`
	MetricsListen  string   `json:"metrics_listen" doc:"address of the gateway's /metrics"`
	PlainHTTP      bool     `json:"plain_http" doc:"serve plain HTTP instead of HTTPS (tests only)"`
	MaxBodyBytes   int64    `json:"max_body_bytes" doc:"largest accepted request body"`
	TrustedProxies []string `json:"trusted_proxies" doc:"addresses whose X-Forwarded-For is believed"`
}

// TLS names the gateway's certificate.
type TLS struct {
	SelfSigned bool   `json:"self_signed" doc:"generate a self-signed certificate at first start when none exists"`
	CertFile   string `json:"cert_file" doc:"certificate (PEM), relative to the install dir"`
	KeyFile    string `json:"key_file" doc:"private key (PEM), relative to the install dir"`
}

// Database holds PostgreSQL connection strings; each service may have its own.
type Database struct {
	URL            string   `json:"url" secret:"true" doc:"PostgreSQL connection string shared by all services; empty in the pilot starts a private cluster"`
	IdentityURL    string   `json:"identity_url" secret:"true" doc:"identity's own connection string (default: url)"`
	LicensingURL   string   `json:"licensing_url" secret:"true" doc:"licensing's own connection string (default: url)"`
	RunnersURL     string   `json:"runners_url" secret:"true" doc:"runners' own connection string (default: url)"`
	AuditURL       string   `json:"audit_url" secret:"true" doc:"audit's own connection string (default: url)"`
	MaxConns       int      `json:"max_conns" doc:"pool size per service instance"`
	ConnectTimeout Duration `json:"connect_timeout" doc:"how long a service waits for PostgreSQL at start-up"`
	PrivateListen  string   `json:"private_listen" doc:"address of the pilot's private PostgreSQL"`
	PrivateOSUser  string   `json:"private_os_user" doc:"system user that runs the private PostgreSQL when the Hub runs as root"`
}

// Redis holds the queue store's settings.
type Redis struct {
	URL        string `json:"url" secret:"true" doc:"Redis URL; empty in the pilot starts the bundled redis-server"`
	Listen     string `json:"listen" doc:"address of the pilot's bundled redis-server"`
	ServerPath string `json:"server_path" doc:"the redis-server program the pilot starts"`
}

// NATS holds the message bus settings.
type NATS struct {
	URL      string `json:"url" secret:"true" doc:"NATS URL(s), comma-separated; empty in the pilot uses the embedded server"`
	CAFile   string `json:"ca_file" doc:"CA certificate (PEM) that signed the NATS servers' TLS certificates, relative to the install dir; for tls:// URLs"`
	Listen   string `json:"listen" doc:"address of the pilot's embedded NATS server"`
	StoreDir string `json:"store_dir" doc:"JetStream storage of the embedded server, relative to the install dir"`
}

// Log holds logging settings.
type Log struct {
	Level     string `json:"level" doc:"debug, info, warn or error"`
	Stdout    bool   `json:"stdout" doc:"also write log lines to standard output (the supervisor turns this off for its children)"`
	Dir       string `json:"dir" doc:"log directory, relative to the install dir"`
	MaxSizeMB int    `json:"max_size_mb" doc:"rotate a log file at this size"`
	MaxFiles  int    `json:"max_files" doc:"rotated files kept per log"`
}

// License holds the trusted license signing keys.
type License struct {
	PublicKeys []string `json:"public_keys" doc:"Ed25519 public keys (base64) trusted to sign licenses"`
}

// Service holds one back-end service's own settings.
type Service struct {
	MetricsListen string `json:"metrics_listen" doc:"address of the service's /metrics"`
}

// Identity holds the identity service's settings: directory sign-in (LDAP
// or Active Directory), OpenID Connect sign-in and API tokens. Local
// accounts always work beside them.
type Identity struct {
	MetricsListen string `json:"metrics_listen" doc:"address of the service's /metrics"`
	LDAP          LDAP   `json:"ldap"`
	OIDC          OIDC   `json:"oidc"`
	// TokenMaxLifetime bounds an API token's expiry.
	TokenMaxLifetime Duration `json:"token_max_lifetime" doc:"the longest expiry an API token may have"`
}

// LDAP is directory sign-in: a service bind finds the user, a bind as the
// user checks the password, group membership maps to a role.
type LDAP struct {
	URL          string   `json:"url" doc:"ldaps://host:636, or ldap://host:389 with start_tls; empty turns directory sign-in off"`
	StartTLS     bool     `json:"start_tls" doc:"upgrade an ldap:// connection with StartTLS (required for ldap:// URLs)"`
	CAFile       string   `json:"ca_file" doc:"CA certificate (PEM) the directory's certificate must chain to, relative to the install dir (default: the system's)"`
	BindDN       string   `json:"bind_dn" doc:"the service account that searches the directory"`
	BindPassword string   `json:"bind_password" secret:"true" doc:"its password"`
	UserBaseDN   string   `json:"user_base_dn" doc:"where users are searched (subtree)"`
	UserFilter   string   `json:"user_filter" doc:"finds the user signing in; {login} is replaced by what they typed, escaped (default: Active Directory's sAMAccountName, userPrincipalName or mail of an enabled user)"`
	GroupSearch  string   `json:"group_search" doc:"how groups are found: ad (nested, with the matching rule 1.2.840.113556.1.4.1941) or memberof (the user's memberOf attribute, OpenLDAP)"`
	GroupBaseDN  string   `json:"group_base_dn" doc:"where groups are searched with group_search ad (default: user_base_dn)"`
	AdminGroups  DNList   `json:"admin_groups" doc:"group DNs whose members are ADMIN (a variable separates DNs with ;)"`
	DevGroups    DNList   `json:"developer_groups" doc:"group DNs whose members are DEVELOPER"`
	OpGroups     DNList   `json:"operator_groups" doc:"group DNs whose members are OPERATOR"`
	DefaultRole  string   `json:"default_role" doc:"role of a user in no mapped group; empty refuses them"`
	EmailAttr    string   `json:"email_attribute" doc:"the attribute holding the user's email"`
	NameAttr     string   `json:"name_attribute" doc:"the attribute holding the user's display name"`
	Recheck      Duration `json:"recheck_interval" doc:"how often signed-in directory users are checked again; a disabled user or one in no mapped group loses their sessions"`
	Timeout      Duration `json:"timeout" doc:"how long one directory operation may take"`
}

// OIDC is OpenID Connect sign-in (authorization code flow with PKCE).
type OIDC struct {
	Name         string   `json:"name" doc:"the provider's name on the sign-in button (Sign in with <name>)"`
	Issuer       string   `json:"issuer" doc:"the provider's issuer URL (its /.well-known/openid-configuration is read); empty turns OpenID Connect off"`
	ClientID     string   `json:"client_id" doc:"the Hub's client id at the provider; ID tokens must be issued to it"`
	ClientSecret string   `json:"client_secret" secret:"true" doc:"the Hub's client secret"`
	RedirectURL  string   `json:"redirect_url" doc:"https://<hub>/api/v1/auth/oidc/callback, as registered at the provider"`
	Scopes       []string `json:"scopes" doc:"scopes asked for besides openid"`
	CAFile       string   `json:"ca_file" doc:"CA certificate (PEM) the provider's certificate must chain to, relative to the install dir (default: the system's)"`
	RolesClaim   string   `json:"roles_claim" doc:"the ID token claim holding the user's groups or roles (a string or a list)"`
	AdminValues  []string `json:"admin_values" doc:"claim values that make a user ADMIN"`
	DevValues    []string `json:"developer_values" doc:"claim values that make a user DEVELOPER"`
	OpValues     []string `json:"operator_values" doc:"claim values that make a user OPERATOR"`
	DefaultRole  string   `json:"default_role" doc:"role of a user with no mapped value; empty refuses them"`
}

// DNList is a list of distinguished names. In a variable, ; separates them
// (a DN holds commas).
type DNList []string

// Runners holds the runners service's settings.
type Runners struct {
	MetricsListen string `json:"metrics_listen" doc:"address of the service's /metrics"`
	// ScheduleMisfireGrace is how late a schedule's fire may still be made
	// as if on time; older fire times were missed (the Hub was down) and
	// the schedule's misfire policy applies.
	ScheduleMisfireGrace Duration `json:"schedule_misfire_grace" doc:"how late a schedule's fire time may be and still fire; older ones count as missed and the schedule's misfire policy applies"`
	// AssetKeyFile holds the key-encryption keys that seal asset values.
	AssetKeyFile string `json:"asset_key_file" doc:"key-encryption keys of asset values, relative to the install dir (created 0600 at first start; never in the database or a backup: keep a copy apart)"`
}

// Audit holds the audit service's settings.
type Audit struct {
	MetricsListen      string   `json:"metrics_listen" doc:"address of the service's /metrics"`
	CheckpointInterval Duration `json:"checkpoint_interval" doc:"how often a signed checkpoint of the log's head is taken"`
	SigningKeyFile     string   `json:"signing_key_file" doc:"Ed25519 key that signs checkpoints, relative to the install dir (created at first start)"`
	StreamReplicas     int      `json:"stream_replicas" doc:"JetStream replicas of the AUDIT stream (3 in an enterprise NATS cluster)"`
}

// Metrics holds what every process's metrics port shares.
type Metrics struct {
	// TokenFile holds the bearer token /metrics and pprof require (the
	// pilot creates it at first start); /livez and /readyz need none.
	TokenFile string `json:"token_file" doc:"bearer token that /metrics and /debug/pprof/ of every process require, relative to the install dir (created 0600 by the pilot; re-read when it changes; missing or empty refuses every scrape)"`
}

// Supervisor holds the pilot supervisor's settings.
type Supervisor struct {
	MetricsListen string   `json:"metrics_listen" doc:"address of the supervisor's /metrics"`
	BinDir        string   `json:"bin_dir" doc:"where the service binaries are (default: beside exekra-hub)"`
	StopTimeout   Duration `json:"stop_timeout" doc:"how long a child gets to stop before it is killed"`
}

// Default returns the settings of a fresh pilot installed in home.
func Default(home string) *Config {
	return &Config{
		Home:    home,
		Hub:     Hub{CredentialsDir: "var/credentials"},
		Gateway: Gateway{Listen: ":8443", MetricsListen: "127.0.0.1:17100", MaxBodyBytes: 1 << 20},
		TLS:     TLS{SelfSigned: true, CertFile: "config/certs/hub.crt", KeyFile: "config/certs/hub.key"},
		Database: Database{
			MaxConns: 10, ConnectTimeout: Duration(10 * time.Second),
			PrivateListen: "127.0.0.1:15432", PrivateOSUser: "exekra",
		},
		Redis:   Redis{Listen: "127.0.0.1:16379", ServerPath: "redis-server"},
		NATS:    NATS{Listen: "127.0.0.1:14222", StoreDir: "var/nats"},
		Log:     Log{Level: "info", Dir: "logs", MaxSizeMB: 50, MaxFiles: 10},
		Metrics: Metrics{TokenFile: "var/credentials/metrics.token"},
		Identity: Identity{MetricsListen: "127.0.0.1:17101", TokenMaxLifetime: Duration(365 * 24 * time.Hour),
			LDAP: LDAP{
				UserFilter:  "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2))(|(sAMAccountName={login})(userPrincipalName={login})(mail={login})))",
				GroupSearch: "ad", EmailAttr: "mail", NameAttr: "displayName",
				Recheck: Duration(5 * time.Minute), Timeout: Duration(10 * time.Second),
			},
			OIDC: OIDC{Name: "single sign-on", Scopes: []string{"profile", "email"}, RolesClaim: "groups"},
		},
		Licensing: Service{MetricsListen: "127.0.0.1:17102"},
		Runners: Runners{MetricsListen: "127.0.0.1:17103", ScheduleMisfireGrace: Duration(60 * time.Second),
			AssetKeyFile: "config/asset-keys.json"},
		Audit: Audit{MetricsListen: "127.0.0.1:17104", CheckpointInterval: Duration(15 * time.Minute),
			SigningKeyFile: "config/audit-signing.key", StreamReplicas: 1},
		Supervisor: Supervisor{MetricsListen: "127.0.0.1:17105", StopTimeout: Duration(20 * time.Second)},
	}
}

// DefaultHome is the install dir when none is given.
func DefaultHome() string {
	if runtime.GOOS == "windows" {
		return `C:\Program Files\Exekra\Hub`
	}
	return "/opt/exekra/hub"
}

// Path resolves p against the install dir unless it is absolute.
func (c *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.Home, p)
}

// MetricsListen returns the key and address of a process's metrics port.
func (c *Config) MetricsListen(process string) (key, addr string) {
	addr = map[string]string{
		"gateway": c.Gateway.MetricsListen, "identity": c.Identity.MetricsListen, "licensing": c.Licensing.MetricsListen,
		"runners": c.Runners.MetricsListen, "audit": c.Audit.MetricsListen, "supervisor": c.Supervisor.MetricsListen,
	}[process]
	return process + ".metrics_listen", addr
}

// DatabaseURL returns the connection string of one service (its own or the shared one).
func (c *Config) DatabaseURL(service string) string {
	own := map[string]string{
		"identity": c.Database.IdentityURL, "licensing": c.Database.LicensingURL,
		"runners": c.Database.RunnersURL, "audit": c.Database.AuditURL,
	}[service]
	if own != "" {
		return own
	}
	return c.Database.URL
}

// Load reads the settings of the install dir home, with environ (os.Environ form)
// overriding. The settings file must exist.
func Load(home string, environ []string) (*Config, error) {
	abs, err := filepath.Abs(home)
	if err != nil {
		return nil, fmt.Errorf("install dir %q: %w", home, err)
	}
	c := Default(abs)
	file := filepath.Join(abs, FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("%s not found (start exekra-hub once to create it, or pass --home)", file)
		}
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if err := c.applyJSON(data); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	dotenv := filepath.Join(abs, ".env")
	if data, err := os.ReadFile(dotenv); err == nil {
		vars, err := parseDotenv(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dotenv, err)
		}
		if err := c.applyEnv(vars); err != nil {
			return nil, fmt.Errorf("%s: %w", dotenv, err)
		}
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("read %s: %w", dotenv, err)
	}
	if err := c.applyEnv(environ); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Validate checks the values every process relies on.
func (c *Config) Validate() error {
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	}
	addrs := map[string]string{
		"gateway.listen": c.Gateway.Listen, "gateway.metrics_listen": c.Gateway.MetricsListen,
		"identity.metrics_listen": c.Identity.MetricsListen, "licensing.metrics_listen": c.Licensing.MetricsListen,
		"runners.metrics_listen": c.Runners.MetricsListen, "audit.metrics_listen": c.Audit.MetricsListen,
		"supervisor.metrics_listen": c.Supervisor.MetricsListen, "nats.listen": c.NATS.Listen,
		"redis.listen": c.Redis.Listen, "database.private_listen": c.Database.PrivateListen,
	}
	for key, addr := range addrs {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%s: %q is not a host:port address", key, addr)
		}
	}
	positive := map[string]int64{
		"gateway.max_body_bytes": c.Gateway.MaxBodyBytes, "database.max_conns": int64(c.Database.MaxConns),
		"log.max_size_mb": int64(c.Log.MaxSizeMB), "log.max_files": int64(c.Log.MaxFiles),
	}
	for key, v := range positive {
		if v <= 0 {
			return fmt.Errorf("%s: must be positive, got %d", key, v)
		}
	}
	durations := map[string]Duration{
		"database.connect_timeout": c.Database.ConnectTimeout, "supervisor.stop_timeout": c.Supervisor.StopTimeout,
		"audit.checkpoint_interval": c.Audit.CheckpointInterval, "runners.schedule_misfire_grace": c.Runners.ScheduleMisfireGrace,
	}
	for key, d := range durations {
		if d <= 0 {
			return fmt.Errorf("%s: must be positive, got %s", key, d.D())
		}
	}
	if c.Audit.StreamReplicas < 1 || c.Audit.StreamReplicas > 5 {
		return fmt.Errorf("audit.stream_replicas: must be 1 to 5, got %d", c.Audit.StreamReplicas)
	}
	return nil
}

// EnvName is the environment variable of a dotted key.
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}
