package compose

import (
	"regexp"
	"strings"

	"github.com/backplane-dev/backplane/schema"
)

// Kind names the import produces. They are the built-in kinds of package
// templates, named here as data because this package must not import it.
const (
	kindDocker   = "app.docker"
	kindWorker   = "worker"
	kindNode     = "app.nodejs"
	kindPython   = "app.python"
	kindGo       = "app.go"
	kindPostgres = "db.postgres"
	kindMySQL    = "db.mysql"
	kindMongo    = "db.mongodb"
	kindRedis    = "cache.redis"
	kindRabbit   = "mq.rabbitmq"
	kindNginx    = "lb.nginx"
)

// datastore is what the import knows of a datastore kind: its port, the
// env var a connection to it injects, the credential variables its image
// reads (dropped, since Backplane generates them) and where its data lives.
type datastore struct {
	port       int
	export     string
	credVars   []string
	volumePath string
}

var datastores = map[string]datastore{
	kindPostgres: {port: 5432, export: "DATABASE_URL", volumePath: "/var/lib/postgresql/data",
		credVars: []string{"POSTGRES_PASSWORD", "POSTGRES_USER", "POSTGRES_DB", "POSTGRES_PASSWORD_FILE", "POSTGRESQL_PASSWORD", "POSTGRESQL_USERNAME", "POSTGRESQL_DATABASE", "POSTGRES_HOST_AUTH_METHOD"}},
	kindMySQL: {port: 3306, export: "MYSQL_URL", volumePath: "/var/lib/mysql",
		credVars: []string{"MYSQL_ROOT_PASSWORD", "MYSQL_PASSWORD", "MYSQL_USER", "MYSQL_DATABASE", "MYSQL_ALLOW_EMPTY_PASSWORD", "MYSQL_RANDOM_ROOT_PASSWORD",
			"MARIADB_ROOT_PASSWORD", "MARIADB_PASSWORD", "MARIADB_USER", "MARIADB_DATABASE", "MARIADB_ALLOW_EMPTY_ROOT_PASSWORD", "MARIADB_RANDOM_ROOT_PASSWORD"}},
	kindMongo: {port: 27017, export: "MONGODB_URL", volumePath: "/data/db",
		credVars: []string{"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD", "MONGO_INITDB_DATABASE"}},
	kindRedis: {port: 6379, export: "REDIS_URL", volumePath: "/data",
		credVars: []string{"REDIS_PASSWORD"}},
	kindRabbit: {port: 5672, export: "AMQP_URL", volumePath: "/var/lib/rabbitmq",
		credVars: []string{"RABBITMQ_DEFAULT_USER", "RABBITMQ_DEFAULT_PASS", "RABBITMQ_DEFAULT_VHOST"}},
}

// kindFields are the element fields each kind takes (beyond id and kind).
var kindFields = map[string][]string{
	kindDocker:   {"image", "command", "args", "port", "volume", "env", "secrets", "resources", "scale", "health"},
	kindWorker:   {"command", "image", "env", "secrets", "resources", "scale"},
	kindNode:     {"source", "version", "port", "env", "secrets", "resources", "scale", "health"},
	kindPython:   {"source", "version", "port", "env", "secrets", "resources", "scale", "health"},
	kindGo:       {"source", "version", "port", "env", "secrets", "resources", "scale", "health"},
	kindNginx:    {"port", "upstream", "version", "resources", "scale", "health"},
	kindPostgres: dataFields, kindMySQL: dataFields, kindMongo: dataFields, kindRedis: dataFields, kindRabbit: dataFields,
}

var dataFields = []string{"version", "volume", "env", "resources", "health"}

func takes(kind, field string) bool {
	for _, f := range kindFields[kind] {
		if f == field {
			return true
		}
	}
	return false
}

// isDatastore reports kinds that make no outgoing connections.
func isDatastore(kind string) bool {
	_, ok := datastores[kind]
	return ok
}

// exportEnv is the env var a connection to an element of kind injects by
// default: the datastore's, or <ID>_URL.
func exportEnv(kind, id string) string {
	if d, ok := datastores[kind]; ok {
		return d.export
	}
	return strings.ToUpper(strings.ReplaceAll(id, "-", "_")) + "_URL"
}

// image is a parsed image reference.
type image struct {
	ref  string // as written
	repo string // the last path part, lowercased: postgres for docker.io/library/postgres
	path string // everything before the tag: bitnami/postgresql
	tag  string
}

func parseImage(ref string) image {
	im := image{ref: ref}
	rest, _, _ := strings.Cut(ref, "@")
	slash := strings.LastIndex(rest, "/")
	if colon := strings.LastIndex(rest, ":"); colon > slash {
		im.tag = rest[colon+1:]
		rest = rest[:colon]
	}
	im.path = rest
	im.repo = strings.ToLower(rest[slash+1:])
	return im
}

// official reports an image from Docker Hub's library (postgres,
// library/postgres, docker.io/library/postgres).
func (im image) official() bool {
	p := strings.TrimPrefix(strings.TrimPrefix(im.path, "docker.io/"), "index.docker.io/")
	p = strings.TrimPrefix(p, "library/")
	return !strings.Contains(p, "/")
}

// dataKind is the datastore kind an image maps to, if any.
func dataKind(im image) string {
	switch im.repo {
	case "postgres", "postgresql":
		return kindPostgres
	case "mongo", "mongodb":
		return kindMongo
	case "redis":
		return kindRedis
	case "mysql", "mariadb":
		return kindMySQL
	case "rabbitmq":
		return kindRabbit
	}
	return ""
}

func isNginx(im image) bool {
	return im.repo == "nginx" || im.repo == "nginx-unprivileged"
}

var versionPrefix = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+)*)`)

// tagVersion is the version number a tag starts with: 16 for 16-alpine,
// 7.2.4 for 7.2.4-bookworm, "" for latest or alpine.
func tagVersion(tag string) string {
	m := versionPrefix.FindStringSubmatch(tag)
	if m == nil {
		return ""
	}
	return m[1]
}

// Kinds lists the built-in kinds the import produces, sorted. The import
// knows them as data; the test suite checks that data against the kind
// registry.
func Kinds() []string { return schema.SortedKeys(kindFields) }

// KindFields lists the element fields the import may set on an element of
// the kind, besides id and kind.
func KindFields(kind string) []string { return append([]string(nil), kindFields[kind]...) }

// DefaultEnv is the env var a connection to the element id of the kind
// injects when the connection names none.
func DefaultEnv(kind, id string) string { return exportEnv(kind, id) }

// Leaf reports the kinds that make no outgoing connections (datastores).
func Leaf(kind string) bool { return isDatastore(kind) }
