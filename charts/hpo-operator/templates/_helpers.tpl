{{/* Full name of the release's objects. */}}
{{- define "hpo-operator.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "hpo-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hpo-operator.labels" -}}
{{ include "hpo-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "hpo-operator.serviceAccountName" -}}
{{- default (include "hpo-operator.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{/* Namespaces the operator watches in namespaced scope. */}}
{{- define "hpo-operator.watchNamespaces" -}}
{{- if .Values.watchNamespaces -}}{{ join "," .Values.watchNamespaces }}{{- else -}}{{ .Release.Namespace }}{{- end -}}
{{- end -}}

{{/* The KubeRay operator's pod labels as the operator's setting takes them: key=value,... */}}
{{- define "hpo-operator.kuberayPodLabels" -}}
{{- $pairs := list -}}
{{- range $key, $value := .Values.campaigns.kuberayOperator.podLabels -}}
{{- $pairs = append $pairs (printf "%s=%s" $key $value) -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}

{{/* The operator's rules on campaign objects: only the verbs it uses. */}}
{{- define "hpo-operator.appRules" -}}
# Application: campaigns (kopf patches finalizers and its annotations; status via /status).
- apiGroups: [hpo.dev]
  resources: [hpocampaigns]
  verbs: [get, list, watch, patch]
- apiGroups: [hpo.dev]
  resources: [hpocampaigns/status]
  verbs: [get, patch]
# Application: children carry ownerReferences with blockOwnerDeletion; where the
# OwnerReferencesPermissionEnforcement admission plugin runs (OpenShift), creating them needs
# update on the owner's finalizers.
- apiGroups: [hpo.dev]
  resources: [hpocampaigns/finalizers]
  verbs: [update]
# Application: one RayJob per campaign, created if absent, deleted with the campaign.
- apiGroups: [ray.io]
  resources: [rayjobs]
  verbs: [get, list, watch, create, delete]
# Application: manifest and progress ConfigMaps. `patch` only because each campaign's driver
# Role grants get and patch on its progress ConfigMap: Kubernetes refuses to let anyone create
# (or bind) a Role granting verbs they do not hold themselves. Holding them is the least way to
# meet that rule: `escalate` on roles would let the operator write Roles granting anything, and
# `bind` covers only the binding, not the Role.
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch, create, patch, delete]
# Application: each campaign's driver runs as a ServiceAccount of its own, bound to a Role limited
# to that campaign's progress ConfigMap; created if absent (get tells whose an existing one is),
# deleted with the campaign when it owns them. No list, watch or update.
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [get, create, delete]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [get, create, delete]
# Application: each campaign's Ray token (a Secret) and NetworkPolicy. `get` on Secrets tells
# whether an existing one is the campaign's (the operator keeps only their metadata); no list or
# watch. It adds little: the RayJobs the operator creates may already mount any Secret of their
# namespace.
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, create, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [get, create, delete]
# Framework: Kubernetes Events for milestones and errors.
- apiGroups: [""]
  resources: [events]
  verbs: [create]
{{- end -}}
