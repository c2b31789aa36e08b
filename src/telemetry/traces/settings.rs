//! What the standard OpenTelemetry variables ask of tracing: whether to export and how, which
//! calls to sample, and what the resource is called.

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry_sdk::{Resource, resource::EnvResourceDetector, trace::Sampler};

/// How spans are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    HttpProtobuf,
}

/// Tracing as the environment configures it.
#[derive(Debug)]
pub struct TraceSettings {
    pub protocol: Protocol,
    pub sampler: Sampler,
    pub resource: Resource,
    /// Spans held for export; more are dropped (and counted).
    pub max_queue: usize,
    pub max_batch: usize,
    /// How long spans wait to be exported with others.
    pub delay: Duration,
    /// How long one export may take before its spans are dropped.
    pub export_timeout: Duration,
}

impl TraceSettings {
    /// The settings `var` (an environment lookup) gives; `None` when no OTLP endpoint is
    /// configured, or tracing is turned off (`OTEL_SDK_DISABLED`, `OTEL_TRACES_EXPORTER=none`).
    pub fn read(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let endpoint =
            set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or(set("OTEL_EXPORTER_OTLP_ENDPOINT"));
        let disabled = set("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
            || set("OTEL_TRACES_EXPORTER").is_some_and(|v| v == "none");
        if endpoint.is_none() || disabled {
            return Ok(None);
        }
        let protocol_var = if set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL").is_some() {
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
        } else {
            "OTEL_EXPORTER_OTLP_PROTOCOL"
        };
        let protocol = match set(protocol_var).as_deref() {
            Some("grpc") => Protocol::Grpc,
            // The specification's default.
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some(other) => anyhow::bail!(
                "{protocol_var}: `{other}` is not supported; use `grpc` or `http/protobuf`"
            ),
        };
        let millis = |name: &str, default: u64| -> anyhow::Result<Duration> {
            let ms = set(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("{name}: `{v}` is not a number of milliseconds"))
            })?;
            Ok(Duration::from_millis(ms))
        };
        let count = |name: &str, default: usize| -> anyhow::Result<usize> {
            set(name).map_or(Ok(default), |v| match v.trim().parse() {
                Ok(n) if n > 0 => Ok(n),
                _ => anyhow::bail!("{name}: `{v}` is not a positive number"),
            })
        };
        let max_queue = count("OTEL_BSP_MAX_QUEUE_SIZE", 2048)?;
        Ok(Some(Self {
            protocol,
            sampler: sampler(set("OTEL_TRACES_SAMPLER"), set("OTEL_TRACES_SAMPLER_ARG"))?,
            resource: resource(set("OTEL_SERVICE_NAME"), set("OTEL_RESOURCE_ATTRIBUTES")),
            max_queue,
            max_batch: count("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 512)?.min(max_queue),
            delay: millis("OTEL_BSP_SCHEDULE_DELAY", 5000)?,
            export_timeout: millis("OTEL_BSP_EXPORT_TIMEOUT", 30_000)?,
        }))
    }
}

/// `OTEL_TRACES_SAMPLER` and its argument; the default continues the caller's decision and
/// samples every call that starts a trace.
fn sampler(name: Option<String>, arg: Option<String>) -> anyhow::Result<Sampler> {
    let ratio = || -> anyhow::Result<f64> {
        match arg.as_deref().map(str::trim) {
            None => Ok(1.0),
            Some(v) => match v.parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => anyhow::bail!("OTEL_TRACES_SAMPLER_ARG: `{v}` is not a ratio from 0 to 1"),
            },
        }
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    Ok(match name.as_deref().unwrap_or("parentbased_always_on") {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        other => anyhow::bail!(
            "OTEL_TRACES_SAMPLER: `{other}` is not supported; use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
        ),
    })
}

/// The resource: `OTEL_RESOURCE_ATTRIBUTES`, named by `OTEL_SERVICE_NAME`, else by the
/// attributes' own `service.name`, else `tagging-service`.
fn resource(service_name: Option<String>, attributes: Option<String>) -> Resource {
    let named_in_attributes = attributes
        .as_deref()
        .and_then(|a| {
            a.split(',')
                .find_map(|kv| kv.trim().strip_prefix("service.name="))
        })
        .map(str::to_owned);
    let name = service_name
        .or(named_in_attributes)
        .unwrap_or_else(|| "tagging-service".to_owned());
    Resource::builder_empty()
        .with_detector(Box::new(EnvResourceDetector::new()))
        .with_service_name(name)
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> anyhow::Result<Option<TraceSettings>> {
        TraceSettings::read(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn nothing_is_set_up_without_an_endpoint_or_when_turned_off() {
        assert!(read(&[]).unwrap().is_none());
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");
        assert!(
            read(&[endpoint, ("OTEL_SDK_DISABLED", "true")])
                .unwrap()
                .is_none()
        );
        assert!(
            read(&[endpoint, ("OTEL_TRACES_EXPORTER", "none")])
                .unwrap()
                .is_none()
        );
        let on = read(&[endpoint]).unwrap().expect("on");
        assert_eq!(on.protocol, Protocol::HttpProtobuf);
        assert!(matches!(on.sampler, Sampler::ParentBased(_)));
    }

    #[test]
    fn the_traces_variables_win_over_the_general_ones() {
        let s = read(&[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
        ])
        .unwrap()
        .expect("on");
        assert_eq!(s.protocol, Protocol::Grpc);
    }

    #[test]
    fn bad_values_are_refused_naming_the_variable() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        for (var, value) in [
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
            ("OTEL_BSP_SCHEDULE_DELAY", "soon"),
        ] {
            let e = read(&[endpoint, (var, value)]).unwrap_err();
            assert!(e.to_string().contains(var), "{e}");
        }
        let e = read(&[
            endpoint,
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "2"),
        ])
        .unwrap_err();
        assert!(e.to_string().contains("OTEL_TRACES_SAMPLER_ARG"), "{e}");
    }

    #[test]
    fn the_service_is_named_by_its_variable_then_the_attributes_then_by_default() {
        let name = |r: &Resource| {
            r.get(&opentelemetry::Key::new("service.name"))
                .map(|v| v.to_string())
        };
        assert_eq!(
            name(&resource(None, None)).as_deref(),
            Some("tagging-service")
        );
        assert_eq!(
            name(&resource(
                None,
                Some("service.name=tags-eu,team=core".into())
            ))
            .as_deref(),
            Some("tags-eu")
        );
        assert_eq!(
            name(&resource(
                Some("tags".into()),
                Some("service.name=x".into())
            ))
            .as_deref(),
            Some("tags")
        );
    }
}
