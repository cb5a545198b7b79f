using System.Text;
using Microsoft.Extensions.AI;

namespace TimeBill.Predictors.Chat;

/// <summary>
/// The prompt a <see cref="TimeBillChatClient"/> gives a model without a chat template: each message on its own as
/// <c>"{Role}: {text}\n"</c> (the role's name with a capital first letter: System, User, Assistant, Tool, or a custom
/// role's own name), instructions first as a System message, then a last <c>"Assistant:"</c> line for the model to
/// continue. Only text content is accepted.
/// </summary>
internal static class PlainChatFormat
{
    /// <summary>The line the model continues.</summary>
    public const string AssistantCue = "Assistant:";

    /// <summary>Formats <paramref name="messages"/>, after <paramref name="instructions"/> when given.</summary>
    /// <exception cref="ArgumentException">No message and no instructions, or a null message.</exception>
    /// <exception cref="NotSupportedException">A message holds content other than text, named by its type.</exception>
    public static string Format(IEnumerable<ChatMessage> messages, string? instructions = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var prompt = new StringBuilder();
        if (!string.IsNullOrEmpty(instructions)) Append(prompt, ChatRole.System, instructions);
        int count = 0;
        foreach (var message in messages)
        {
            if (message is null) throw new ArgumentException("a message is null.", nameof(messages));
            var text = new StringBuilder();
            foreach (var content in message.Contents)
            {
                if (content is not TextContent textContent)
                    throw new NotSupportedException($"a {message.Role} message holds {content?.GetType().Name ?? "null"} content; this client takes text content only (TextContent).");
                text.Append(textContent.Text);
            }
            Append(prompt, message.Role, text.ToString());
            count++;
        }
        if (count == 0 && prompt.Length == 0) throw new ArgumentException("there is no message to answer.", nameof(messages));
        return prompt.Append(AssistantCue).ToString();
    }

    /// <summary>The label of <paramref name="role"/> in the prompt: its name with a capital first letter.</summary>
    public static string RoleLabel(ChatRole role)
    {
        string name = role.Value;
        return name.Length == 0 ? name : char.ToUpperInvariant(name[0]) + name[1..];
    }

    private static void Append(StringBuilder prompt, ChatRole role, string text) =>
        prompt.Append(RoleLabel(role)).Append(": ").Append(text).Append('\n');
}
