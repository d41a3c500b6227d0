job "all-site" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "site" {
    count          = 1
    shutdown_delay = "2s"
    task "fetch" {
      driver = "docker"
      lifecycle {
        hook = "prestart"
      }
      config {
        args    = ["$${NOMAD_TASK_DIR}/start.sh"]
        command = "/bin/sh"
        image   = "node:22-bookworm-slim"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      artifact {
        source      = "git::https://github.com/acme/site.git"
        destination = "local/src"
        options {
          depth = "1"
          ref   = "main"
        }
      }
      template {
        destination = "local/start.sh"
        data        = "#!/bin/sh\nset -e\nrm -rf \"$${NOMAD_ALLOC_DIR}/site\"\nmkdir -p \"$${NOMAD_ALLOC_DIR}/site\"\ncd \"$${NOMAD_TASK_DIR}/src\"\nnpm ci && npm run build\ncp -R \"dist/.\" \"$${NOMAD_ALLOC_DIR}/site/\"\n"
        change_mode = "restart"
        perms       = "0755"
      }
    }
    task "site" {
      driver = "docker"
      config {
        args  = ["nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"]
        image = "nginx:1.27-alpine"
        ports = ["http"]
      }
      env = {
        PORT = "8080"
      }
      resources {
        cpu    = 100
        memory = 64
      }
      template {
        destination   = "local/nginx.conf"
        data          = "worker_processes 1;\npid /tmp/nginx-{{ env \"NOMAD_ALLOC_ID\" }}.pid;\nerror_log /dev/stderr warn;\nevents { worker_connections 1024; }\nhttp {\n  include /etc/nginx/mime.types;\n  access_log /dev/stdout;\n  client_body_temp_path /tmp;\n  server {\n    listen 8080;\n    root {{ env \"NOMAD_ALLOC_DIR\" }}/site;\n    location / {\n      try_files $uri $uri/ /index.html;\n    }\n  }\n}\n"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"all-node\" }}{{ if eq $i 0 }}{{ with $s }}NODE_URL=http://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
    network {
      port "http" {
        to = 8080
      }
    }
    service {
      name     = "all-site"
      tags     = ["backplane", "project=all", "element=site"]
      port     = "http"
      provider = "nomad"
      check {
        name     = "alive"
        type     = "tcp"
        port     = "http"
        interval = "3s"
        timeout  = "2s"
      }
    }
  }
  update {
    max_parallel      = 1
    health_check      = "checks"
    min_healthy_time  = "3s"
    healthy_deadline  = "5m0s"
    progress_deadline = "10m0s"
    auto_revert       = true
  }
  meta = {
    "backplane.element" = "site"
    "backplane.project" = "all"
  }
}
