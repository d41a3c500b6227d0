job "msg-producer" {
  region      = "global"
  namespace   = "default"
  type        = "service"
  datacenters = ["dc1"]
  group "producer" {
    count = 1
    task "producer" {
      driver = "docker"
      config {
        image = "ghcr.io/acme/producer:1"
      }
      resources {
        cpu    = 200
        memory = 256
      }
      template {
        destination = "local/connections.env"
        data        = "{{ range $i, $s := nomadService \"msg-bus\" }}{{ if eq $i 0 }}{{ with $s }}NATS_URL=nats://{{ if .Address | contains \":\" }}[{{ .Address }}]{{ else }}{{ .Address }}{{ end }}:{{ .Port }}\n{{ end }}{{ end }}{{ end }}"
        change_mode = "restart"
        env         = true
      }
    }
  }
  update {
    max_parallel      = 1
    health_check      = "task_states"
    min_healthy_time  = "3s"
    healthy_deadline  = "5m0s"
    progress_deadline = "10m0s"
    auto_revert       = true
  }
  meta = {
    "backplane.element" = "producer"
    "backplane.project" = "msg"
  }
}
