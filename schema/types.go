package schema

// Version is the schema version this package reads and writes.
const Version = 1

// Schema is one project: its elements, the connections between them and where
// they run. The YAML and JSON forms use the field names in the `yaml` tags.
type Schema struct {
	Version     int                 `yaml:"version" json:"version"`
	Project     string              `yaml:"project" json:"project"`
	Namespace   string              `yaml:"namespace,omitempty" json:"namespace,omitempty"`
	Mesh        bool                `yaml:"mesh,omitempty" json:"mesh,omitempty"`
	Regions     map[string]Region   `yaml:"regions,omitempty" json:"regions,omitempty"`
	Defaults    Defaults            `yaml:"defaults,omitempty" json:"defaults,omitzero"`
	Receivers   map[string]Receiver `yaml:"receivers,omitempty" json:"receivers,omitempty"`
	Elements    []Element           `yaml:"elements" json:"elements"`
	Connections []Connection        `yaml:"connections,omitempty" json:"connections,omitempty"`
	Layout      map[string]Position `yaml:"layout,omitempty" json:"layout,omitempty"`
}

// Region is a federated Nomad region the project may place elements in.
type Region struct {
	Datacenters []string `yaml:"datacenters,omitempty" json:"datacenters,omitempty"`
	// ConsulDatacenter names the Consul datacenter that serves this region,
	// for connections that cross regions. It defaults to the region's name.
	ConsulDatacenter string `yaml:"consul_datacenter,omitempty" json:"consul_datacenter,omitempty"`
}

// Defaults apply to every element that does not set the field itself.
type Defaults struct {
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	Driver string `yaml:"driver,omitempty" json:"driver,omitempty"`
}

// Receiver is a named alert destination. Exactly one of its fields is set.
type Receiver struct {
	Slack   *SlackReceiver   `yaml:"slack,omitempty" json:"slack,omitempty"`
	Email   *EmailReceiver   `yaml:"email,omitempty" json:"email,omitempty"`
	Webhook *WebhookReceiver `yaml:"webhook,omitempty" json:"webhook,omitempty"`
}

// SlackReceiver posts to a Slack channel. The incoming-webhook URL is a secret:
// only its name is in the schema.
type SlackReceiver struct {
	Channel          string `yaml:"channel" json:"channel"`
	WebhookURLSecret string `yaml:"webhook_url_secret" json:"webhook_url_secret"`
}

// EmailReceiver mails the alert to one or more comma-separated addresses.
// The SMTP server, sender and login come from the Alertmanager's global
// smtp_* settings unless set here. AuthPasswordSecret names a project
// secret; the password itself never lives in the schema.
type EmailReceiver struct {
	To                 string `yaml:"to" json:"to"`
	From               string `yaml:"from,omitempty" json:"from,omitempty"`
	Smarthost          string `yaml:"smarthost,omitempty" json:"smarthost,omitempty"`
	AuthUsername       string `yaml:"auth_username,omitempty" json:"auth_username,omitempty"`
	AuthPasswordSecret string `yaml:"auth_password_secret,omitempty" json:"auth_password_secret,omitempty"`
}

// WebhookReceiver posts Alertmanager's webhook payload to a URL. Use URLSecret
// instead of URL when the URL itself carries a credential.
type WebhookReceiver struct {
	URL       string `yaml:"url,omitempty" json:"url,omitempty"`
	URLSecret string `yaml:"url_secret,omitempty" json:"url_secret,omitempty"`
}

// Element is one box on the canvas: an app, a datastore, a load balancer, a
// worker or a cron job. Which fields apply depends on its kind.
type Element struct {
	ID        string            `yaml:"id" json:"id"`
	Kind      string            `yaml:"kind" json:"kind"`
	Source    *Source           `yaml:"source,omitempty" json:"source,omitempty"`
	Image     string            `yaml:"image,omitempty" json:"image,omitempty"`
	Version   string            `yaml:"version,omitempty" json:"version,omitempty"`
	Command   string            `yaml:"command,omitempty" json:"command,omitempty"`
	Args      []string          `yaml:"args,omitempty" json:"args,omitempty"`
	Schedule  string            `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	Driver    string            `yaml:"driver,omitempty" json:"driver,omitempty"`
	Port      int               `yaml:"port,omitempty" json:"port,omitempty"`
	Env       map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Secrets   []string          `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	Resources *Resources        `yaml:"resources,omitempty" json:"resources,omitempty"`
	Scale     *Scale            `yaml:"scale,omitempty" json:"scale,omitempty"`
	Health    *Health           `yaml:"health,omitempty" json:"health,omitempty"`
	Placement *Placement        `yaml:"placement,omitempty" json:"placement,omitempty"`
	Alerts    *Alerts           `yaml:"alerts,omitempty" json:"alerts,omitempty"`
	Volume    *Volume           `yaml:"volume,omitempty" json:"volume,omitempty"`
	Upstream  *Upstream         `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	// Params holds the settings a user kind declares for itself.
	Params map[string]string `yaml:"params,omitempty" json:"params,omitempty"`
}

// Source is where an element built from source gets its code.
type Source struct {
	Repo   string `yaml:"repo" json:"repo"`
	Branch string `yaml:"branch,omitempty" json:"branch,omitempty"`
	// Ref pins a commit or tag; when empty the branch head is fetched.
	Ref        string `yaml:"ref,omitempty" json:"ref,omitempty"`
	Dir        string `yaml:"dir,omitempty" json:"dir,omitempty"`
	Autodeploy bool   `yaml:"autodeploy,omitempty" json:"autodeploy,omitempty"`
	// Paths limits auto-deploy in a monorepo: only a push that changes
	// files under one of these folders counts.
	Paths []string `yaml:"paths,omitempty" json:"paths,omitempty"`
	Build string   `yaml:"build,omitempty" json:"build,omitempty"`
	Start string   `yaml:"start,omitempty" json:"start,omitempty"`
	// Auth is how serve reaches a private repository (to follow its
	// branch and compare commits); nil is anonymous.
	Auth *SourceAuth `yaml:"auth,omitempty" json:"auth,omitempty"`
}

// SourceAuth names the project secrets (`backplane secrets set --project`)
// that hold a private repository's credentials. Only names live here.
type SourceAuth struct {
	// Username is the HTTPS user sent with the token (default "git";
	// GitHub takes "x-access-token", GitLab "oauth2").
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	// TokenSecret holds an HTTPS token or password, for https:// repos.
	TokenSecret string `yaml:"token_secret,omitempty" json:"token_secret,omitempty"`
	// SSHKeySecret holds a PEM private key (a deploy key), for ssh:// and
	// git@host:path repos; KnownHostsSecret the server's host keys in
	// known_hosts form, checked when set.
	SSHKeySecret     string `yaml:"ssh_key_secret,omitempty" json:"ssh_key_secret,omitempty"`
	KnownHostsSecret string `yaml:"known_hosts_secret,omitempty" json:"known_hosts_secret,omitempty"`
}

// Resources are Nomad task resources: CPU in MHz and memory in MB.
type Resources struct {
	CPU       int `yaml:"cpu,omitempty" json:"cpu,omitempty"`
	Memory    int `yaml:"memory,omitempty" json:"memory,omitempty"`
	MemoryMax int `yaml:"memory_max,omitempty" json:"memory_max,omitempty"`
}

// Scale is the instance count and, when Max is set, the autoscaling bounds.
type Scale struct {
	Count     int `yaml:"count,omitempty" json:"count,omitempty"`
	Min       int `yaml:"min,omitempty" json:"min,omitempty"`
	Max       int `yaml:"max,omitempty" json:"max,omitempty"`
	CPUTarget int `yaml:"cpu_target,omitempty" json:"cpu_target,omitempty"`
}

// Health is how Nomad decides an instance is healthy.
type Health struct {
	HTTP           string `yaml:"http,omitempty" json:"http,omitempty"`
	TCP            bool   `yaml:"tcp,omitempty" json:"tcp,omitempty"`
	Interval       string `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout        string `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	MinHealthyTime string `yaml:"min_healthy_time,omitempty" json:"min_healthy_time,omitempty"`
}

// Placement says where an element runs. Regions must be declared at the top.
type Placement struct {
	Regions     []string `yaml:"regions,omitempty" json:"regions,omitempty"`
	Datacenters []string `yaml:"datacenters,omitempty" json:"datacenters,omitempty"`
}

// Alerts names the receivers an element's alerts go to, and tunes the
// conditions Backplane raises from what Nomad sees. Zero values take the
// defaults: RestartLoop at 3 restarts within 10m, ElementDown after 1m
// without a running instance, CheckCritical after 1m of a failing check.
type Alerts struct {
	Receivers []string `yaml:"receivers,omitempty" json:"receivers,omitempty"`
	// Restarts and RestartWindow: RestartLoop fires at this many restarts
	// (or failed instances) within the window.
	Restarts      int    `yaml:"restarts,omitempty" json:"restarts,omitempty"`
	RestartWindow string `yaml:"restart_window,omitempty" json:"restart_window,omitempty"`
	// DownAfter: ElementDown fires when no instance has run for this long
	// while some are wanted.
	DownAfter string `yaml:"down_after,omitempty" json:"down_after,omitempty"`
	// CheckAfter: CheckCritical fires when a health check has failed for
	// this long.
	CheckAfter string `yaml:"check_after,omitempty" json:"check_after,omitempty"`
}

// IsZero reports whether the block sets nothing.
func (a *Alerts) IsZero() bool {
	return a == nil || (len(a.Receivers) == 0 && a.Restarts == 0 && a.RestartWindow == "" && a.DownAfter == "" && a.CheckAfter == "")
}

// Volume is a Nomad host volume the element's data lives on.
type Volume struct {
	Name   string `yaml:"name" json:"name"`
	SizeMB int    `yaml:"size_mb,omitempty" json:"size_mb,omitempty"`
}

// Upstream configures a load balancer's balancing policy.
type Upstream struct {
	Policy string `yaml:"policy,omitempty" json:"policy,omitempty"`
}

// Connection is an edge: From uses To. To's kind says which env var it
// exports into From; Env renames that var.
type Connection struct {
	From   string `yaml:"from" json:"from"`
	To     string `yaml:"to" json:"to"`
	Env    string `yaml:"env,omitempty" json:"env,omitempty"`
	Weight int    `yaml:"weight,omitempty" json:"weight,omitempty"`
	Route  *Route `yaml:"route,omitempty" json:"route,omitempty"`
}

// Route is a load balancer's path route to the connection's target.
type Route struct {
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// Position is where an element sits on the editor's canvas.
type Position struct {
	X float64 `yaml:"x" json:"x"`
	Y float64 `yaml:"y" json:"y"`
}

// Element returns the element with the given ID, or nil.
func (s *Schema) Element(id string) *Element {
	for i := range s.Elements {
		if s.Elements[i].ID == id {
			return &s.Elements[i]
		}
	}
	return nil
}

// ReceiverSecrets lists the project secrets the receivers read (Slack and
// webhook URLs, SMTP passwords), sorted and without repeats.
func (s *Schema) ReceiverSecrets() []string {
	seen := map[string]bool{}
	for _, r := range s.Receivers {
		switch {
		case r.Slack != nil:
			seen[r.Slack.WebhookURLSecret] = true
		case r.Email != nil:
			seen[r.Email.AuthPasswordSecret] = true
		case r.Webhook != nil:
			seen[r.Webhook.URLSecret] = true
		}
	}
	delete(seen, "")
	return SortedKeys(seen)
}

// ProjectSecrets lists every project secret the schema names: the
// receivers' and the private repositories' credentials (source.auth).
func (s *Schema) ProjectSecrets() []string {
	seen := map[string]bool{}
	for _, n := range s.ReceiverSecrets() {
		seen[n] = true
	}
	for _, e := range s.Elements {
		if e.Source != nil && e.Source.Auth != nil {
			a := e.Source.Auth
			seen[a.TokenSecret], seen[a.SSHKeySecret], seen[a.KnownHostsSecret] = true, true, true
		}
	}
	delete(seen, "")
	return SortedKeys(seen)
}
