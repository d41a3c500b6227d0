// Package compose turns a docker-compose project into a Backplane schema:
// `backplane import compose`. It reads the whole Compose specification
// through github.com/compose-spec/compose-go/v2 (several files merged in
// order, profiles, `.env` interpolation beside the first file, `extends`)
// and maps each service to an element:
//
//   - the kind comes from the image: postgres → db.postgres, mongo →
//     db.mongodb, redis → cache.redis, mysql and mariadb → db.mysql,
//     rabbitmq → mq.rabbitmq, nginx that proxies to other services →
//     lb.nginx, anything else → app.docker, or worker when it publishes no
//     port and has a command; a build context that is a git URL becomes
//     `source` on a runtime kind picked from the command;
//   - ports and expose → port; environment → env, with secret-looking names
//     turned into secret names and the datastores' own credential variables
//     dropped, since Backplane generates those;
//   - depends_on, links and env values naming another service's host →
//     connections, whose env name is the variable the service already reads;
//   - deploy.replicas → scale.count, deploy.resources.limits → resources
//     (one CPU is CPUMHz MHz), healthcheck → health when it is an HTTP
//     request to localhost or a TCP probe, a named volume → volume;
//   - a layout with load balancers left, apps in the middle and datastores
//     right.
//
// Everything else is reported as a Warning that names the file, the
// service and the key. Output is deterministic: services are walked in
// sorted order.
//
// This package must not import jobs, web, store, translator or templates.
// It knows the built-in kinds' names, fields and exports as plain data; the
// test suite in package test checks the result against the kind registry.
package compose
