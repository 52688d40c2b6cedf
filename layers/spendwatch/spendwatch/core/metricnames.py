"""Every CloudWatch namespace, metric and dimension name spendwatch reads or writes."""

from __future__ import annotations

# Read: SageMaker's own metrics.
SAGEMAKER_NAMESPACE = "AWS/SageMaker"
INVOCATIONS = "Invocations"
# Async endpoints publish no Invocations. AWS documentation spells the processed-count
# metric with three s; other sources spell it with two. Both are read and summed (only one
# of them ever exists for a given endpoint).
ASYNC_PROCESSED_METRICS = ("InvocationsProcesssed", "InvocationsProcessed")
ASYNC_BACKLOG = "ApproximateBacklogSize"

ENHANCED_COMPONENTS_NAMESPACE = "/aws/sagemaker/InferenceComponents"
ENHANCED_ENDPOINTS_NAMESPACE = "/aws/sagemaker/Endpoints"
GPU_UTILIZATION = "GPUUtilizationNormalized"
CPU_UTILIZATION_NORMALIZED = "CPUUtilizationNormalized"
CPU_UTILIZATION = "CPUUtilization"
VARIANT_GPU_UTILIZATION = "GPUUtilization"  # standard instance metric (EndpointName, VariantName): sums the GPUs
GPU_DIMENSIONS = ("GpuId", "AcceleratorId")

DIM_ENDPOINT = "EndpointName"
DIM_VARIANT = "VariantName"
DIM_COMPONENT = "InferenceComponentName"
DIM_INSTANCE = "InstanceId"
DIM_CONTAINER = "ContainerId"

# Written: spendwatch's derived metrics (EMF).
DEFAULT_NAMESPACE = "Spendwatch"
IDLE_ENDPOINTS = "IdleEndpoints"
IDLE_COMPONENTS = "IdleInferenceComponents"
IDLE_COST_PER_HOUR = "IdleCostPerHour"
UNPRICED_RESOURCES = "UnpricedResources"
SCANNED_ENDPOINTS = "ScannedEndpoints"

# Written by the cost meter (per interval; dimensions EndpointName[, InferenceComponentName]).
COMPONENT_COST = "ComponentCost"  # USD for the interval, per component
COMPONENT_GPUS_HELD = "GPUsHeld"  # average GPUs a component held during the interval
ENDPOINT_GPUS_USED = "GPUsUsed"  # average GPUs held by components on an endpoint
ENDPOINT_GPUS_FREE = "GPUsFree"  # average GPUs nobody held
UNALLOCATED_COST = "UnallocatedCost"  # USD for the interval, GPUs (or cores) nobody held
ENDPOINT_COST = "EndpointCost"  # USD for the interval, whole endpoint (instances x price)
ACCOUNT_COST = "AccountCostUsd"  # organization mode: USD for the interval, per AccountId and Region
DIM_ACCOUNT = "AccountId"
METERED_INTERVALS = "MeteredIntervals"  # run level: intervals completed by this run
METER_LAG_HOURS = "MeterLagHours"  # run level: hours between now and the last metered interval end

# Written by the notifier (run level).
NOTIFICATIONS_SENT = "NotificationsSent"
REMEDIATION_ACTIONS = "RemediationActions"  # run level: actions this run took (a replay takes none)
REMEDIATION_FAILED = "RemediationFailedActions"  # run level: actions that failed (the invocation fails too)
REMEDIATION_SAVING = "RemediationMonthlySavingUsd"  # run level: USD a month the actions this run took save
BUDGET_ALERTS = "BudgetAlerts"

# Written by the fan-out's targets function (organization mode; dimension Task).
FAILED_TARGETS = "FailedTargets"  # account regions whose invocation failed after its retries
SUCCEEDED_TARGETS = "SucceededTargets"
