job "edge-lb" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "lb" {
    count          = 2
    shutdown_delay = "2s"
    task "lb" {
      driver = "docker"
      config {
        args  = ["nginx", "-c", "/local/nginx.conf", "-g", "daemon off;"]
        image = "nginx:1.27-alpine"
        ports = ["http"]
      }
      env = {
        PORT = "443"
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
        data          = "# Rendered by Nomad from live service discovery; nginx reloads on change.\nworker_processes 1;\npid /tmp/nginx-{{ env \"NOMAD_ALLOC_ID\" }}.pid;\nerror_log /dev/stderr warn;\nevents { worker_connections 1024; }\nhttp {\n  access_log /dev/stdout;\n  client_body_temp_path /tmp;\n  proxy_temp_path /tmp;\n  upstream u0 {\n    ip_hash;\n{{- range nomadService \"edge-api\" }}\n    server {{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }};\n{{- end }}\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n  upstream u1 {\n    ip_hash;\n{{- range nomadService \"edge-docs\" }}\n    server {{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }};\n{{- end }}\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n  upstream u2 {\n    ip_hash;\n{{- range nomadService \"edge-blue\" }}\n    server {{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }} weight=90;\n{{- end }}\n{{- range nomadService \"edge-green\" }}\n    server {{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }} weight=10;\n{{- end }}\n    # Keeps the block valid while no instance is registered.\n    server 127.0.0.1:1 down;\n  }\n  server {\n    listen 443;\n    location /api/ {\n      proxy_pass http://u0;\n      proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n    location /docs {\n      proxy_pass http://u1;\n      proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n    location / {\n      proxy_pass http://u2;\n      proxy_set_header Host $host;\n      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }\n  }\n}\n"
        change_mode   = "signal"
        change_signal = "SIGHUP"
      }
    }
    network {
      port "http" {
        static = 443
        to     = 443
      }
    }
    service {
      name     = "edge-lb"
      tags     = ["backplane", "project=edge", "element=lb"]
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
    "backplane.project" = "edge"
  }
}
