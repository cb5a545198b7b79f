namespace TimeBill.Templates;

/// <summary>The template called <c>raise_exception(message)</c>: it refuses its input (a role it does not know, say).</summary>
public sealed class TemplateRaisedException : TemplateRenderException
{
    /// <summary>Creates the exception for the call at <paramref name="line"/>.</summary>
    public TemplateRaisedException(int line, string templateMessage)
        : base(line, $"the template raised an error: {templateMessage}")
    {
        TemplateMessage = templateMessage;
    }

    /// <summary>The message the template passed to <c>raise_exception</c>, verbatim.</summary>
    public string TemplateMessage { get; }
}
