package templates

import (
	"github.com/hashicorp/nomad/api"

	"github.com/backplane-dev/backplane/schema"
)

// Kind is an element kind: one entry of the palette. It describes itself,
// validates an element of its kind, and builds that element's workload.
// The translator owns everything common to every kind (the job around the
// workload, connections, secrets, scaling, log shipping); a kind owns its task.
type Kind interface {
	Info() Info
	// Validate checks what is specific to this kind. Paths in the returned
	// errors are absolute (`elements[api].command`).
	Validate(in ValidateInput) schema.Errors
	// Build returns the element's workload in one region.
	Build(in BuildInput) (*BuildResult, error)
}

// Info is what the palette, the inspector and the translator know of a kind.
type Info struct {
	Name        string `json:"name"`
	Label       string `json:"label"`
	Category    string `json:"category"`
	Icon        string `json:"icon"`
	Description string `json:"description,omitempty"`
	// Fields lists the element fields the kind accepts besides id and kind,
	// with which are required, for validation and for generating forms.
	Fields []Field `json:"fields"`
	// Exports are the env vars a connection to this kind injects.
	Exports []Export `json:"exports,omitempty"`
	// Service is true when the kind listens on a port others can reach; only
	// such kinds accept incoming connections.
	Service bool `json:"service"`
	// Connects is true when the kind may have outgoing connections.
	Connects bool `json:"connects"`
	// Routes is true for load balancers: their outgoing connections take a
	// weight and a path route.
	Routes bool `json:"routes,omitempty"`
	// Versions the kind runs, with the default first; empty when the kind
	// has no versions.
	Versions []string `json:"versions,omitempty"`
	Defaults Defaults `json:"defaults"`
	// User is true for kinds loaded from a kinds folder.
	User bool `json:"user,omitempty"`
}

// Field is one element field a kind accepts.
type Field struct {
	Name     string   `json:"name"`
	Required bool     `json:"required,omitempty"`
	Options  []string `json:"options,omitempty"`
	Help     string   `json:"help,omitempty"`
}

// Export is an env var a kind injects into elements connected to it. Env
// may contain {ID}, the target element's ID in upper snake case. URL is a
// pattern with {host}, {port}, {user}, {password} and {database}; OpenURL is
// used instead when the datastore runs without credentials.
type Export struct {
	Env     string `yaml:"env" json:"env"`
	URL     string `yaml:"url" json:"url"`
	OpenURL string `yaml:"open_url,omitempty" json:"open_url,omitempty"`
}

// Defaults are what an element of the kind gets when it does not say.
type Defaults struct {
	Port      int               `json:"port,omitempty"`
	Resources schema.Resources  `json:"resources"`
	Health    *schema.Health    `json:"health,omitempty"`
	Images    map[string]string `json:"images,omitempty"`
	Driver    string            `json:"driver,omitempty"`
}

// ValidateInput is what a kind validates: one element in its schema.
type ValidateInput struct {
	Schema  *schema.Schema
	Element *schema.Element
	Path    schema.Path
	// Incoming and Outgoing are the element's connections.
	Incoming []schema.Connection
	Outgoing []schema.Connection
}

// Options are the translator's settings that reach kinds.
type Options struct {
	// Credentials is true when datastore credentials are generated into
	// Vault. Without it, datastores run without a password and say so.
	Credentials bool
	// Prebuilt is true when the element's source arrives already built (a
	// build job ran source.build once for its commit): the workload then
	// fetches that result and runs source.start only.
	Prebuilt bool
}

// BuildInput is one element in one region, with its resolved connections.
type BuildInput struct {
	Schema      *schema.Schema
	Element     *schema.Element
	Path        schema.Path
	Region      string
	Driver      string
	JobID       string
	Connections []Connection
	Options     Options
}

// Connection is an outgoing connection with everything needed to reach its
// target at run time.
type Connection struct {
	schema.Connection
	Target     *schema.Element
	TargetInfo Info
	// Service is the target's service name (its job ID).
	Service string
	// Env is the env var the connection injects, after any rename.
	Env string
	// Lookup says how the address is found at run time.
	Lookup Lookup
	// Datacenter is the Consul datacenter to query for LookupConsul across
	// regions; empty for the local one.
	Datacenter string
	// BindPort is the local port of the Connect upstream for LookupUpstream.
	BindPort int
}

// Lookup is how a connection finds its target at run time.
type Lookup string

const (
	LookupNomad    Lookup = "nomad"    // nomadService, Nomad's own service discovery
	LookupConsul   Lookup = "consul"   // Consul catalog, needed across regions
	LookupUpstream Lookup = "upstream" // a Consul Connect upstream on localhost
)

// BuildResult is an element's workload: its main task and what the group
// around it needs.
type BuildResult struct {
	// Batch makes the job a batch job; with Periodic set it runs on a schedule.
	Batch    bool
	Periodic *api.PeriodicConfig
	// Task is the main task. Prestart tasks run to completion before it.
	Task     *api.Task
	Prestart []*api.Task
	// Port is the element's listening port, or nil.
	Port *Port
	// Check is the service health check, or nil for none.
	Check *api.ServiceCheck
	// Volumes the group requests, by name.
	Volumes map[string]*api.VolumeRequest
	// Credentials is set for datastores whose credentials live in Vault.
	Credentials *Credentials
	// Warnings name the element field they are about.
	Warnings schema.Errors
}

// Port is where an element listens. Under docker, To is the container port;
// Static pins the host port too (load balancers).
type Port struct {
	Label  string
	To     int
	Static bool
}

// Credentials are generated by the deploy step into Vault at Path (a KV v2
// path under the mount, without "data/"), with the keys named here. The
// datastore and every element connected to it read them from there.
type Credentials struct {
	Path     string   `json:"path"`
	Keys     []string `json:"keys"`
	User     string   `json:"user"`
	Database string   `json:"database,omitempty"`
}
