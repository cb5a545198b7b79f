using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using TimeBill.Predictors.Chat;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="TimeBillChatClient"/> with a service collection.</summary>
public static class TimeBillChatServiceCollectionExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="TimeBillChatClient"/> built from <paramref name="modelFolder"/> and the
    /// options <paramref name="configure"/> sets, as itself and as <see cref="IChatClient"/> (the container disposes it,
    /// and with it the model). It is built on first resolution; without a logger in the options it logs through the
    /// container's <see cref="ILoggerFactory"/> when there is one. For middleware (telemetry, logging, caching), wrap
    /// it in Microsoft.Extensions.AI's <c>ChatClientBuilder</c> from the resolved <see cref="TimeBillChatClient"/>.
    /// </summary>
    /// <exception cref="ArgumentException">No model folder.</exception>
    public static IServiceCollection AddTimeBillChatClient(this IServiceCollection services, string modelFolder,
        Action<TimeBillChatClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(modelFolder);
        services.AddSingleton(provider =>
        {
            var options = new TimeBillChatClientOptions();
            configure?.Invoke(options);
            if (options.Logger is null && options.LoggerFactory is null) options.LoggerFactory = provider.GetService<ILoggerFactory>();
            return new TimeBillChatClient(modelFolder, options);
        });
        services.AddSingleton<IChatClient>(provider => provider.GetRequiredService<TimeBillChatClient>());
        return services;
    }
}
