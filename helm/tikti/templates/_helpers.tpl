{{/*
Names, labels, the rendered tikti.yaml and the render-time checks (docs/spec/operations.md §9).
Numbers from values.yaml arrive as floats and from --set as integers: compare them through `int`.
*/}}

{{- define "tikti.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "tikti.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "tikti.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The labels every object of the release shares. Never a selector on their own: the KVRocks and
migrate pods carry them too. Each workload selects with its component (tikti.serverSelectorLabels,
app.kubernetes.io/component: kvrocks | migrate).
*/}}
{{- define "tikti.selectorLabels" -}}
app.kubernetes.io/name: {{ include "tikti.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The Tikti server pods: selector of the Deployment, Service, metrics Service, PDB, anti-affinity. */}}
{{- define "tikti.serverSelectorLabels" -}}
{{ include "tikti.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "tikti.labels" -}}
helm.sh/chart: {{ include "tikti.chart" . }}
{{ include "tikti.selectorLabels" . }}
app.kubernetes.io/version: {{ include "tikti.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "tikti.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "tikti.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "tikti.imageTag" -}}
{{- default .Chart.AppVersion (toString .Values.image.tag) -}}
{{- end -}}

{{- define "tikti.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (include "tikti.imageTag" .) -}}
{{- end -}}
{{- end -}}

{{/* Name of the Secret with jwtSecret, apiKey, jwksPrivateKey (and redisPassword). */}}
{{- define "tikti.secretName" -}}
{{- default (include "tikti.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/* "true" when a Redis password is configured (non-empty output = true). */}}
{{- define "tikti.hasRedisPassword" -}}
{{- if .Values.secrets.existingSecret -}}
{{- if .Values.secrets.existingSecretHasRedisPassword }}true{{ end -}}
{{- else if .Values.secrets.redisPassword -}}
true
{{- end -}}
{{- end -}}

{{- define "tikti.samlSecretName" -}}
{{- default (printf "%s-saml" (include "tikti.fullname" .)) .Values.saml.existingSecret -}}
{{- end -}}

{{- define "tikti.samlSigningKey" -}}
{{- default .Values.secrets.samlSpPrivateKey .Values.secrets.samlSigningKey -}}
{{- end -}}

{{- define "tikti.samlSigningCert" -}}
{{- default .Values.secrets.samlSpCertificate .Values.secrets.samlSigningCert -}}
{{- end -}}

{{- define "tikti.kvrocksName" -}}
{{- printf "%s-kvrocks" (include "tikti.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Replicas of the Deployment when autoscaling is off. */}}
{{- define "tikti.replicas" -}}
{{- if .Values.embedded.enabled }}1{{ else }}{{ int .Values.replicaCount }}{{ end -}}
{{- end -}}

{{/*
issuerBaseUrl is required (tikti.validate): no URL derived by the chart is known to be served over
https, and a discovery document pointing at an unserved issuer breaks every client
(docs/adr/0031-chart-render-time-checks.md).
*/}}
{{- define "tikti.issuerBaseUrl" -}}
{{- .Values.config.issuerBaseUrl | trimSuffix "/" -}}
{{- end -}}

{{/*
The server's tikti.yaml: config.*, the derived keys, and the saml block. Used by the ConfigMap,
the migrate hook's ConfigMap and the checksum annotation, so all three always agree.
*/}}
{{- define "tikti.configYaml" -}}
{{- include "tikti.configYamlFor" (dict "root" . "saml" true) -}}
{{- end -}}

{{/* The migrate hook's copy: SAML off (the hook has no SAML key files and needs none). */}}
{{- define "tikti.migrateConfigYaml" -}}
{{- include "tikti.configYamlFor" (dict "root" . "saml" false) -}}
{{- end -}}

{{- define "tikti.configYamlFor" -}}
{{- $root := .root -}}
{{- with $root -}}
{{- $cfg := deepCopy .Values.config -}}
{{- $_ := set $cfg "issuerBaseUrl" (include "tikti.issuerBaseUrl" .) -}}
{{- if .Values.kvrocks.enabled -}}
{{- $_ := set $cfg "redisAddr" (printf "%s:%d" (include "tikti.kvrocksName" .) (int .Values.kvrocks.port)) -}}
{{- end -}}
{{- if .Values.embedded.enabled -}}
{{- $_ := set $cfg "dataDir" "/var/lib/tikti" -}}
{{- end -}}
{{- $sp := deepCopy .Values.saml.sp -}}
{{- if and .Values.saml.enabled (not .Values.saml.existingSecret) .Values.secrets.samlEncryptionKey -}}
{{- if not (hasKey $sp "encryptionKeyPath") -}}
{{- $_ := set $sp "encryptionKeyPath" "/etc/tikti/saml/enc.key" -}}
{{- end -}}
{{- if not (hasKey $sp "encryptionCertPath") -}}
{{- $_ := set $sp "encryptionCertPath" "/etc/tikti/saml/enc.crt" -}}
{{- end -}}
{{- end -}}
{{- $saml := dict "enabled" .Values.saml.enabled "sp" $sp "acs" .Values.saml.acs "idp" .Values.saml.idp "discover" .Values.saml.discover "metrics" .Values.saml.metrics -}}
{{- if not $.saml -}}
{{- $saml = dict "enabled" false -}}
{{- end -}}
{{- $_ := set $cfg "saml" $saml -}}
{{- toYaml $cfg -}}
{{- end -}}
{{- end -}}

{{/* Data of the chart-managed main Secret (base64), also hashed into the pod annotation. */}}
{{- define "tikti.secretData" -}}
jwtSecret: {{ .Values.secrets.jwtSecret | b64enc | quote }}
apiKey: {{ .Values.secrets.apiKey | b64enc | quote }}
jwksPrivateKey: {{ .Values.secrets.jwksPrivateKey | b64enc | quote }}
{{- if .Values.secrets.redisPassword }}
redisPassword: {{ .Values.secrets.redisPassword | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* Render-time refusals: every one names the value to fix. */}}
{{- define "tikti.validate" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository is required: --set image.repository=<registry>/tikti (the image built from deploy/Dockerfile)" -}}
{{- end -}}
{{- $stores := list -}}
{{- if .Values.config.redisAddr }}{{ $stores = append $stores "config.redisAddr" }}{{ end -}}
{{- if .Values.config.redisUrl }}{{ $stores = append $stores "config.redisUrl" }}{{ end -}}
{{- if .Values.config.redisCluster }}{{ $stores = append $stores "config.redisCluster" }}{{ end -}}
{{- if .Values.kvrocks.enabled }}{{ $stores = append $stores "kvrocks.enabled" }}{{ end -}}
{{- if .Values.embedded.enabled }}{{ $stores = append $stores "embedded.enabled" }}{{ end -}}
{{- if eq (len $stores) 0 -}}
{{- fail "no storage chosen: set config.redisAddr, config.redisUrl or config.redisCluster (an existing Redis/KVRocks), or kvrocks.enabled=true, or embedded.enabled=true (single replica)" -}}
{{- end -}}
{{- if gt (len $stores) 1 -}}
{{- fail (printf "choose exactly one storage, not %s" (join ", " $stores)) -}}
{{- end -}}
{{- if .Values.embedded.enabled -}}
{{- if .Values.autoscaling.enabled -}}
{{- fail "embedded.enabled cannot be combined with autoscaling.enabled: the embedded store serves a single replica (use Redis or kvrocks.enabled to scale)" -}}
{{- end -}}
{{- if gt (int .Values.replicaCount) 1 -}}
{{- fail (printf "embedded.enabled needs replicaCount=1 (got %d): the embedded store serves a single replica (use Redis or kvrocks.enabled to scale)" (int .Values.replicaCount)) -}}
{{- end -}}
{{- if .Values.migrate.job.enabled -}}
{{- fail "migrate.job.enabled cannot be used with embedded.enabled: the embedded store is locked by the running server; scale to 0 and run tikti-migrate --data-dir /var/lib/tikti" -}}
{{- end -}}
{{- end -}}
{{- if and (not .Values.secrets.enabled) (not .Values.secrets.existingSecret) -}}
{{- fail "secrets.enabled=false needs secrets.existingSecret: the name of a Secret with keys jwtSecret, apiKey, jwksPrivateKey (and redisPassword)" -}}
{{- end -}}
{{- $issuer := .Values.config.issuerBaseUrl -}}
{{- if not $issuer -}}
{{- fail "config.issuerBaseUrl is required: the public https URL clients use to reach Tikti (the `iss` of every token and the base of the discovery document), e.g. --set-string config.issuerBaseUrl=https://id.example.com" -}}
{{- end -}}
{{- if not (regexMatch "^https://[^/?#\\s]+(/[^?#\\s]*)?$" $issuer) -}}
{{- fail (printf "config.issuerBaseUrl must be an absolute https URL without query or fragment, e.g. https://id.example.com (got %q)" $issuer) -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- include "tikti.checkSecret" (dict "key" "jwtSecret" "value" .Values.secrets.jwtSecret "kind" "random" "what" "the HS256 idToken key" "example" "--set-string secrets.jwtSecret=\"$(openssl rand -hex 32)\"") -}}
{{- include "tikti.checkSecret" (dict "key" "apiKey" "value" .Values.secrets.apiKey "kind" "random" "what" "the service API key" "example" "--set-string secrets.apiKey=\"$(openssl rand -hex 32)\"") -}}
{{- include "tikti.checkSecret" (dict "key" "jwksPrivateKey" "value" .Values.secrets.jwksPrivateKey "kind" "privateKey" "what" "the RS256 access-token signing key, RSA >= 2048 bits" "example" "--set-file secrets.jwksPrivateKey=jwks.pem (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out jwks.pem)") -}}
{{- if .Values.secrets.redisPassword -}}
{{- include "tikti.checkSecret" (dict "key" "redisPassword" "value" .Values.secrets.redisPassword "kind" "password" "what" "the Redis password" "example" "--set-string secrets.redisPassword=<the password of your Redis>") -}}
{{- end -}}
{{- end -}}
{{- if .Values.saml.enabled -}}
{{- if not .Values.saml.existingSecret -}}
{{- if not (and (include "tikti.samlSigningKey" .) (include "tikti.samlSigningCert" .)) -}}
{{- fail "saml.enabled=true needs an SP signing pair: --set-file secrets.samlSigningKey=sp.key --set-file secrets.samlSigningCert=sp.crt (or saml.existingSecret)" -}}
{{- end -}}
{{- range $key := list "samlSigningKey" "samlSpPrivateKey" "samlNextSigningKey" "samlEncryptionKey" -}}
{{- with index $.Values.secrets $key -}}
{{- include "tikti.checkSecret" (dict "key" $key "value" . "kind" "privateKey" "what" "a SAML SP private key" "example" (printf "--set-file secrets.%s=sp.key" $key)) -}}
{{- end -}}
{{- end -}}
{{- range $key := list "samlSigningCert" "samlSpCertificate" "samlNextSigningCert" "samlEncryptionCert" -}}
{{- with index $.Values.secrets $key -}}
{{- include "tikti.checkSecret" (dict "key" $key "value" . "kind" "certificate" "what" "a SAML SP certificate" "example" (printf "--set-file secrets.%s=sp.crt" $key)) -}}
{{- end -}}
{{- end -}}
{{- if ne (empty .Values.secrets.samlNextSigningKey) (empty .Values.secrets.samlNextSigningCert) -}}
{{- fail "secrets.samlNextSigningKey and secrets.samlNextSigningCert must be set together" -}}
{{- end -}}
{{- if ne (empty .Values.secrets.samlEncryptionKey) (empty .Values.secrets.samlEncryptionCert) -}}
{{- fail "secrets.samlEncryptionKey and secrets.samlEncryptionCert must be set together" -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if .Values.config.devMode -}}
{{- fail "config.devMode=true binds to 127.0.0.1 only and cannot serve a Service or probes; leave it false" -}}
{{- end -}}
{{- if and .Values.config.metrics.enabled (eq (int .Values.config.metrics.port) (int .Values.config.port)) -}}
{{- fail (printf "config.metrics.port (%d) must differ from config.port: /metrics gets its own listener (9464), or 0 for the main port" (int .Values.config.port)) -}}
{{- end -}}
{{- if and .Values.metrics.serviceMonitor.enabled (not .Values.config.metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs config.metrics.enabled=true (nothing serves /metrics otherwise)" -}}
{{- end -}}
{{- if ne (int .Values.config.port) (int .Values.service.targetPort) -}}
{{- fail (printf "service.targetPort (%d) must equal config.port (%d)" (int .Values.service.targetPort) (int .Values.config.port)) -}}
{{- end -}}
{{- end -}}

{{/*
One secret value: present, not a placeholder, and of the expected form. Every message names the
value, says what is expected and how to make one, and never echoes the secret (only a placeholder,
which is public text anyway). The server applies the same rules at startup (docs/spec/operations.md §4).
*/}}
{{- define "tikti.checkSecret" -}}
{{- $v := toString .value -}}
{{- $expect := "" -}}
{{- if eq .kind "random" -}}
{{- $expect = "at least 32 random characters with at least 16 different ones" -}}
{{- else if eq .kind "privateKey" -}}
{{- $expect = "a PEM private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)" -}}
{{- else if eq .kind "certificate" -}}
{{- $expect = "a PEM certificate (-----BEGIN CERTIFICATE-----)" -}}
{{- else -}}
{{- $expect = "the real value" -}}
{{- end -}}
{{- $hint := printf "secrets.%s: expected %s, %s: %s (or secrets.existingSecret)" .key $expect .what .example -}}
{{- if not $v -}}
{{- fail (printf "%s; it is empty (secrets.%s is required)" $hint .key) -}}
{{- end -}}
{{- if regexMatch "(?i)^\\s*(change[_ -]?me|change[_ -]?it|replace[_ -]?me|todo|secret|password|x+|\\.\\.\\.|<[^>]*>)\\s*$" $v -}}
{{- fail (printf "%s; got the placeholder %q" $hint (trim $v)) -}}
{{- end -}}
{{- if eq .kind "random" -}}
{{- if lt (len $v) 32 -}}
{{- fail (printf "%s; got %d characters" $hint (len $v)) -}}
{{- end -}}
{{- if lt (len (splitList "" $v | uniq)) 16 -}}
{{- fail (printf "%s; got only %d different characters" $hint (len (splitList "" $v | uniq))) -}}
{{- end -}}
{{- else if eq .kind "privateKey" -}}
{{- if not (regexMatch "-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----" $v) -}}
{{- fail (printf "%s; got %d characters that are not a PEM private key" $hint (len $v)) -}}
{{- end -}}
{{- else if eq .kind "certificate" -}}
{{- if not (contains "-----BEGIN CERTIFICATE-----" $v) -}}
{{- fail (printf "%s; got %d characters that are not a PEM certificate" $hint (len $v)) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Timing fields of a probe value (the path is rendered by the caller). */}}
{{- define "tikti.probeTiming" -}}
{{- range $field := list "initialDelaySeconds" "periodSeconds" "timeoutSeconds" "failureThreshold" "successThreshold" }}
{{- if hasKey $ $field }}
{{ $field }}: {{ int (index $ $field) }}
{{- end }}
{{- end }}
{{- end -}}
