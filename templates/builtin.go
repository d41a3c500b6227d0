package templates

import (
	"fmt"

	"github.com/backplane-dev/backplane/schema"
)

// Field sets shared by the built-in kinds.
var (
	serviceFields = []string{"env", "secrets", "resources", "scale", "health", "placement", "alerts", "driver"}
	dataFields    = []string{"version", "volume", "env", "resources", "health", "placement", "alerts", "driver"}
)

func fields(extra ...string) []string { return append(append([]string{}, extra...), serviceFields...) }

// Builtins returns the built-in kinds. main registers them into a Registry;
// there is no package-level registry.
func Builtins() []Kind {
	appRes := schema.Resources{CPU: 200, Memory: 256}
	dataRes := schema.Resources{CPU: 500, Memory: 512}
	runtime := func(name, label, icon, image string, versions []string) Spec {
		return Spec{
			Name: name, Label: label, Category: "app", Icon: icon, Run: RunSource,
			Description: label + " app built from a git repository: build, then start",
			Image:       image, Versions: versions, Port: 0, Resources: appRes,
			Fields: fields("source", "version", "port"), Required: []string{"source"},
		}
	}
	specs := []Spec{
		runtime("app.nodejs", "Node.js", "nodejs", "node:{version}-bookworm-slim", []string{"22", "24", "20"}),
		runtime("app.python", "Python", "python", "python:{version}-slim-bookworm", []string{"3.13", "3.12", "3.11"}),
		runtime("app.go", "Go", "go", "golang:{version}-bookworm", []string{"1.25", "1.24"}),
		{
			Name: "app.docker", Label: "Docker image", Category: "app", Icon: "docker", Run: RunImage,
			Description: "Any container image, with an optional command and args",
			Resources:   appRes, Fields: fields("image", "command", "args", "port", "volume"), Required: []string{"image"},
			VolumePath: "/data",
		},
		{
			Name: "app.command", Label: "Command", Category: "app", Icon: "terminal", Run: RunCommand,
			Description: "A shell command run with sh; it listens on $PORT when it has a port",
			Image:       "debian:bookworm-slim", Resources: schema.Resources{CPU: 100, Memory: 128},
			Fields: fields("command", "image", "port"), Required: []string{"command"},
		},
		{
			Name: "worker", Label: "Worker", Category: "worker", Icon: "cog", Run: RunCommand,
			Description: "A long-running process without a port or a service",
			Image:       "debian:bookworm-slim", Resources: schema.Resources{CPU: 100, Memory: 128}, NoService: true,
			Fields: []string{"command", "image", "env", "secrets", "resources", "scale", "placement", "alerts", "driver"}, Required: []string{"command"},
		},
		{
			Name: "cron", Label: "Cron job", Category: "worker", Icon: "clock", Run: RunCommand, Periodic: true,
			Description: "A command run on a cron schedule",
			Image:       "debian:bookworm-slim", Resources: schema.Resources{CPU: 100, Memory: 128}, NoService: true,
			Fields: []string{"command", "schedule", "image", "env", "secrets", "resources", "placement", "alerts", "driver"}, Required: []string{"command", "schedule"},
		},
		{
			Name: "db.postgres", Label: "PostgreSQL", Category: "database", Icon: "postgres", Run: RunImage,
			Image: "postgres:{version}", Versions: []string{"17", "16", "15"}, Port: 5432, Resources: dataRes,
			VolumePath: "/var/lib/postgresql/data", Fields: dataFields, Leaf: true,
			Exports: []Export{{Env: "DATABASE_URL", URL: "postgres://{user}:{password}@{host}:{port}/{database}", OpenURL: "postgres://{user}@{host}:{port}/{database}?sslmode=disable"}},
			Credentials: &CredentialSpec{User: "app", Database: "app",
				Env:     map[string]string{"POSTGRES_USER": "{user}", "POSTGRES_DB": "{database}", "POSTGRES_PASSWORD": "{password}"},
				OpenEnv: map[string]string{"POSTGRES_USER": "{user}", "POSTGRES_DB": "{database}", "POSTGRES_HOST_AUTH_METHOD": "trust"}},
		},
		{
			Name: "db.mysql", Label: "MySQL", Category: "database", Icon: "mysql", Run: RunImage,
			Image: "mysql:{version}", Versions: []string{"8.4", "8.0"}, Port: 3306, Resources: dataRes,
			VolumePath: "/var/lib/mysql", Fields: dataFields, Leaf: true,
			Exports: []Export{{Env: "MYSQL_URL", URL: "mysql://{user}:{password}@{host}:{port}/{database}", OpenURL: "mysql://root@{host}:{port}/{database}"}},
			Credentials: &CredentialSpec{User: "app", Database: "app",
				Env:     map[string]string{"MYSQL_USER": "{user}", "MYSQL_DATABASE": "{database}", "MYSQL_PASSWORD": "{password}", "MYSQL_RANDOM_ROOT_PASSWORD": "yes"},
				OpenEnv: map[string]string{"MYSQL_DATABASE": "{database}", "MYSQL_ALLOW_EMPTY_PASSWORD": "yes"}},
		},
		{
			Name: "db.mongodb", Label: "MongoDB", Category: "database", Icon: "mongodb", Run: RunImage,
			Image: "mongo:{version}", Versions: []string{"7", "8", "6"}, Port: 27017, Resources: dataRes,
			VolumePath: "/data/db", Fields: dataFields, Leaf: true,
			Exports: []Export{{Env: "MONGODB_URL", URL: "mongodb://{user}:{password}@{host}:{port}/{database}?authSource=admin", OpenURL: "mongodb://{host}:{port}/{database}"}},
			Credentials: &CredentialSpec{User: "app", Database: "app",
				Env:     map[string]string{"MONGO_INITDB_ROOT_USERNAME": "{user}", "MONGO_INITDB_ROOT_PASSWORD": "{password}", "MONGO_INITDB_DATABASE": "{database}"},
				OpenEnv: map[string]string{"MONGO_INITDB_DATABASE": "{database}"}},
		},
		{
			Name: "cache.redis", Label: "Redis", Category: "cache", Icon: "redis", Run: RunImage,
			Image: "redis:{version}-alpine", Versions: []string{"7.4", "7.2"}, Port: 6379,
			Resources: schema.Resources{CPU: 200, Memory: 256}, VolumePath: "/data", Fields: dataFields, Leaf: true,
			Command: "/bin/sh", Args: []string{"-c", `exec redis-server --appendonly yes ${REDIS_PASSWORD:+--requirepass "$REDIS_PASSWORD"}`},
			Exports: []Export{{Env: "REDIS_URL", URL: "redis://:{password}@{host}:{port}/0", OpenURL: "redis://{host}:{port}/0"}},
			Credentials: &CredentialSpec{User: "default",
				Env: map[string]string{"REDIS_PASSWORD": "{password}"}},
		},
		{
			Name: "mq.rabbitmq", Label: "RabbitMQ", Category: "queue", Icon: "rabbitmq", Run: RunImage,
			Image: "rabbitmq:{version}-management-alpine", Versions: []string{"4.0", "3.13"}, Port: 5672, Resources: dataRes,
			VolumePath: "/var/lib/rabbitmq", Fields: dataFields, Leaf: true,
			Exports: []Export{{Env: "AMQP_URL", URL: "amqp://{user}:{password}@{host}:{port}/", OpenURL: "amqp://guest:guest@{host}:{port}/"}},
			Credentials: &CredentialSpec{User: "app",
				Env:     map[string]string{"RABBITMQ_DEFAULT_USER": "{user}", "RABBITMQ_DEFAULT_PASS": "{password}"},
				OpenEnv: map[string]string{"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-rabbit loopback_users []"}},
		},
	}
	out := make([]Kind, 0, len(specs)+2)
	for _, s := range specs {
		out = append(out, FromSpec(s))
	}
	return append(out, &Static{}, &NginxLB{})
}

// NewBuiltinRegistry returns a registry holding the built-in kinds.
func NewBuiltinRegistry() (*Registry, error) {
	r := NewRegistry()
	for _, k := range Builtins() {
		if err := r.Register(k); err != nil {
			return nil, fmt.Errorf("built-in kinds: %w", err)
		}
	}
	return r, nil
}
