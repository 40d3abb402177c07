{{/*
The chart's labels, on every object it templates (config/default's part-of label, Helm's own, and
commonLabels). Pod templates and selectors keep config/'s labels only, so an upgrade never changes a
Deployment's selector.
*/}}
{{- define "krr-mcp.labels" -}}
app.kubernetes.io/part-of: krr-mcp
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The components' image: repository@digest when a digest is given, else repository:tag (the tag defaults
to the chart's appVersion, the package version).
*/}}
{{- define "krr-mcp.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end }}
