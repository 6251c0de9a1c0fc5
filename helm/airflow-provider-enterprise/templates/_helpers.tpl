{{/* Names, labels and the pieces every Airflow pod shares. */}}

{{- define "ape.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "ape.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selector labels of one component: include "ape.selector" (list . "scheduler") */}}
{{- define "ape.selector" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ $root.Chart.Name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{- define "ape.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ape.secretRef" -}}
secretKeyRef:
  name: {{ .root.Values.secrets.name }}
  key: {{ index .root.Values.secrets.keys .key }}
{{- end -}}

{{- define "ape.apiUrl" -}}
{{ ternary "https" "http" (ne .Values.airflow.apiServer.tls.secretName "") }}://{{ include "ape.fullname" . }}-api-server:{{ .Values.airflow.apiServer.port }}
{{- end -}}

{{- define "ape.sparkMaster" -}}
{{- if eq .Values.spark.mode "standalone" -}}
spark://{{ include "ape.fullname" . }}-spark-master:7077
{{- else if eq .Values.spark.mode "kubernetes" -}}
k8s://https://kubernetes.default.svc
{{- else -}}
local[*]
{{- end -}}
{{- end -}}

{{/* The ServiceAccount of the pods that run tasks when they submit Spark applications to Kubernetes, else "". */}}
{{- define "ape.sparkServiceAccount" -}}
{{- if eq .Values.spark.mode "kubernetes" }}{{ .Values.spark.kubernetes.serviceAccount }}{{ end -}}
{{- end -}}

{{/* CeleryExecutor: the task slots of all workers. */}}
{{- define "ape.workerSlots" -}}
{{ mul .Values.airflow.workers.replicas .Values.airflow.workers.concurrency }}
{{- end -}}

{{/* The environment of every Airflow container. */}}
{{- define "ape.airflowEnv" -}}
- name: AIRFLOW__CORE__EXECUTOR
  value: {{ .Values.airflow.executor | quote }}
- name: AIRFLOW__CORE__PARALLELISM
  {{- if eq .Values.airflow.executor "CeleryExecutor" }}
  value: {{ include "ape.workerSlots" . | quote }}
  {{- else }}
  value: {{ .Values.airflow.parallelism | quote }}
  {{- end }}
{{- range $name, $value := .Values.airflow.config }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
- name: AIRFLOW__API__PORT
  value: {{ .Values.airflow.apiServer.port | quote }}
- name: AIRFLOW__API__BASE_URL
  value: {{ .Values.airflow.publicUrl | quote }}
- name: AIRFLOW__CORE__EXECUTION_API_SERVER_URL
  value: {{ printf "%s/execution/" (include "ape.apiUrl" .) | quote }}
- name: AIRFLOW_API_URL
  value: {{ include "ape.apiUrl" . | quote }}
{{- if .Values.airflow.apiServer.tls.secretName }}
- name: AIRFLOW__API__SSL_CERT
  value: /opt/airflow/tls/tls.crt
- name: AIRFLOW__API__SSL_KEY
  value: /opt/airflow/tls/tls.key
{{- end }}
- name: AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE
  value: /opt/airflow/auth/passwords.json
- name: AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
  valueFrom:
    {{- include "ape.secretRef" (dict "root" . "key" "sqlAlchemyConn") | nindent 4 }}
- name: DATABASE_URL
  valueFrom:
    {{- include "ape.secretRef" (dict "root" . "key" "registryUrl") | nindent 4 }}
- name: AIRFLOW__API_AUTH__JWT_SECRET
  valueFrom:
    {{- include "ape.secretRef" (dict "root" . "key" "jwtSecret") | nindent 4 }}
- name: AIRFLOW__CORE__FERNET_KEY
  valueFrom:
    {{- include "ape.secretRef" (dict "root" . "key" "fernetKey") | nindent 4 }}
{{- range .Values.objectStorage.connections }}
- name: {{ printf "AIRFLOW_CONN_%s" (upper (required "objectStorage.connections[].connId is required" .connId)) }}
  valueFrom:
    secretKeyRef:
      name: {{ required "objectStorage.connections[].existingSecret is required (the Secret holding the connection)" .existingSecret }}
      key: {{ .key | default "connection" }}
{{- end }}
{{- if .Values.events.enabled }}
- name: {{ printf "AIRFLOW_CONN_%s" (upper .Values.events.connId) }}
  {{- if .Values.events.broker.enabled }}
  value: {{ dict "conn_type" "redis" "host" (printf "%s-event-broker" (include "ape.fullname" .)) "port" 6379 "extra" (dict "db" 0) | toJson | quote }}
  {{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ required "events.existingSecret is required when events.broker.enabled is false (the Secret with the Redis connection)" .Values.events.existingSecret }}
      key: {{ .Values.events.connectionKey }}
  {{- end }}
{{- end }}
{{- if eq .Values.airflow.executor "CeleryExecutor" }}
- name: REDIS_URL
  {{- if .Values.redis.enabled }}
  value: {{ printf "redis://%s-redis:6379/0" (include "ape.fullname" .) | quote }}
  {{- else }}
  valueFrom:
    secretKeyRef:
      name: {{ required "redis.existingSecret is required when redis.enabled is false (the Secret with the broker's URL)" .Values.redis.existingSecret }}
      key: {{ .Values.redis.urlKey }}
  {{- end }}
- name: AIRFLOW__CELERY__BROKER_URL
  value: "$(REDIS_URL)"
- name: AIRFLOW__CELERY__RESULT_BACKEND  # Airflow's metadata database
  value: "db+$(AIRFLOW__DATABASE__SQL_ALCHEMY_CONN)"
{{- range $engine, $placement := .Values.airflow.engines }}
- name: AIRFLOW__ENTERPRISE__{{ upper $engine }}_QUEUE
  value: {{ $placement.queue | quote }}
- name: AIRFLOW__ENTERPRISE__{{ upper $engine }}_POOL
  value: {{ $placement.pool | quote }}
{{- end }}
{{- else if eq .Values.airflow.executor "KubernetesExecutor" }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE
  value: {{ .Release.Namespace | quote }}
- name: AIRFLOW__KUBERNETES_EXECUTOR__POD_TEMPLATE_FILE
  value: /opt/airflow/pod-template/pod_template.yaml
{{- end }}
- name: ENVIRONMENT
  value: production
- name: ENTERPRISE_OUTPUT_DIR
  value: {{ .Values.output.mountPath | quote }}
- name: SPARK_MASTER_URL
  value: {{ include "ape.sparkMaster" . | quote }}
- name: SPARK_LOCAL_HOSTNAME  # client-mode drivers run here: executors reach them at the pod's IP
  valueFrom:
    fieldRef: {fieldPath: status.podIP}
{{- if .Values.metrics.enabled }}
- name: AIRFLOW__METRICS__STATSD_ON
  value: "True"
- name: AIRFLOW__METRICS__STATSD_HOST
  value: {{ printf "%s-statsd-exporter" (include "ape.fullname" .) | quote }}
- name: AIRFLOW__METRICS__STATSD_PORT
  value: "9125"
- name: AIRFLOW__METRICS__STATSD_PREFIX
  value: airflow
- name: AIRFLOW__METRICS__STATSD_INFLUXDB_ENABLED
  value: "True"
{{- end }}
{{- range $name, $value := .Values.airflow.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Volumes of every Airflow pod, and where they are mounted. */}}
{{- define "ape.airflowVolumes" -}}
- name: auth
  emptyDir: {}
{{- with .Values.airflow.apiServer.tls.secretName }}
- name: tls
  secret:
    secretName: {{ . }}
{{- end }}
- name: output
{{- if .Values.output.persistence.enabled }}
  persistentVolumeClaim:
    claimName: {{ include "ape.fullname" . }}-output
{{- else }}
  emptyDir: {}
{{- end }}
{{- if eq .Values.airflow.executor "KubernetesExecutor" }}
- name: pod-template
  configMap:
    name: {{ include "ape.fullname" . }}-pod-template
{{- end }}
{{- end -}}

{{- define "ape.airflowMounts" -}}
- name: auth
  mountPath: /opt/airflow/auth
- name: output
  mountPath: {{ .Values.output.mountPath }}
{{- if .Values.airflow.apiServer.tls.secretName }}
- name: tls
  mountPath: /opt/airflow/tls
  readOnly: true
{{- end }}
{{- if eq .Values.airflow.executor "KubernetesExecutor" }}
- name: pod-template
  mountPath: /opt/airflow/pod-template
  readOnly: true
{{- end }}
{{- end -}}

{{/*
Init containers of every Airflow pod: wait until the migration Job has run, then write the simple auth
manager's passwords file from the Secret.
*/}}
{{- define "ape.airflowInit" -}}
- name: wait-for-migrations
  image: {{ include "ape.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  args: ["db", "check-migrations", "--migration-wait-timeout", "600"]
  env:
    {{- include "ape.airflowEnv" . | nindent 4 }}
  resources:
    {{- toYaml .Values.airflow.migrations.resources | nindent 4 }}
- name: passwords-file
  image: {{ include "ape.image" . }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  command: ["python", "-c", "import json, os; open('/opt/airflow/auth/passwords.json', 'w').write(json.dumps({'admin': os.environ['ADMIN_PASSWORD']}))"]
  env:
    - name: ADMIN_PASSWORD
      valueFrom:
        {{- include "ape.secretRef" (dict "root" . "key" "adminPassword") | nindent 8 }}
  volumeMounts:
    - name: auth
      mountPath: /opt/airflow/auth
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {cpu: 200m, memory: 128Mi}
{{- end -}}

{{/*
A ServiceAccount, a Role with these rules and their RoleBinding, all in one namespace:
include "ape.serviceAccountRole" (dict "root" . "account" "spark" "role" "<release>-spark" "namespace" "jobs" "rules" (list ...))
*/}}
{{- define "ape.serviceAccountRole" -}}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ .account }}
  namespace: {{ .namespace }}
  labels:
    {{- include "ape.labels" .root | nindent 4 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .role }}
  namespace: {{ .namespace }}
  labels:
    {{- include "ape.labels" .root | nindent 4 }}
rules:
  {{- toYaml .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .role }}
  namespace: {{ .namespace }}
  labels:
    {{- include "ape.labels" .root | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ .role }}
subjects:
  - kind: ServiceAccount
    name: {{ .account }}
    namespace: {{ .namespace }}
{{- end -}}

{{- define "ape.podSecurity" -}}
securityContext:
  runAsUser: 50000
  runAsGroup: 0
  fsGroup: 0
  runAsNonRoot: true
{{- end -}}
