# Vault policy for pay-settle: read its own secrets and the credentials of what it connects to.
path "secret/data/backplane/pay/settle" {
  capabilities = ["read"]
}
