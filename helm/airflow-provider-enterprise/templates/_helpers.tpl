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

{{/* The environment of every Airflow container. */}}
{{- define "ape.airflowEnv" -}}
- name: AIRFLOW__CORE__EXECUTOR
  value: {{ .Values.airflow.executor | quote }}
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

{{- define "ape.podSecurity" -}}
securityContext:
  runAsUser: 50000
  runAsGroup: 0
  fsGroup: 0
  runAsNonRoot: true
{{- end -}}
