using X402Orleans.Gateway.Observability;

namespace X402Orleans.Silo.Observability;

/// <summary>Observability of a silo host (with or without the co-hosted gateway).</summary>
public static class SiloObservability
{
    /// <summary>
    /// <see cref="X402Observability.AddX402Observability{TBuilder}"/> plus Orleans' own activity propagation, so a trace continues from
    /// the MCP call through the grain calls it makes (only when tracing is on).
    /// </summary>
    public static TBuilder AddX402SiloObservability<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddX402Observability();
        if (X402Observability.TracingEnabled(builder.Configuration))
        {
            builder.UseOrleans(silo => silo.AddActivityPropagation());
        }

        return builder;
    }
}
