job "all-lb" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "lb" {
    count          = 1
    shutdown_delay = "2s"
    task "lb" {
      driver = "docker"
      config {
        args  = ["nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"]
        image = "nginx:1.27-alpine"
        ports = ["http"]
      }
      env = {
        PORT = "80"
      }
      resources {
        cpu    = 100
        memory = 64
      }
      meta = {
        "backplane.version" = "1.27"
      }
      template {
        destination   = "local/nginx.conf"
        data          = "# Rendered by Nomad from live service discovery; nginx reloads on change.\nworker_processes 1;\npid /tmp/nginx-{{ env \"NOMAD_ALLOC_ID\" }}.pid;\nerror_log /dev/stderr warn;\nevents { worker_connections 1024; }\nhttp {\n  access_log /dev/stdout;\n  client_body_temp_path /tmp;\n  proxy_temp_path /tmp;\n  upstream u0 {\n{{- range nomadService \"all-node\" }}\n    server {{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }};\n{{- end }}\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n  server {\n    listen 80;\n    location / {\n      proxy_pass http://u0;\n      proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n  }\n}\n"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }
    }
    network {
      port "http" {
        static = 80
        to     = 80
      }
    }
    service {
      name     = "all-lb"
      tags     = ["backplane", "project=all", "element=lb"]
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
    "backplane.element" = "lb"
    "backplane.project" = "all"
  }
}
