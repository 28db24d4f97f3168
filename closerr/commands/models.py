"""``closerr models check``: where every bundled model is, how big, how long it takes to load; which campaign
languages this deployment can transcribe and which voices it can speak with."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def register(app: typer.Typer) -> None:
    models_app = typer.Typer(help="Inspect the bundled speech models.", no_args_is_help=True)

    @models_app.command("check")
    def check() -> None:
        """Locate and load every model once; fail naming the missing package."""
        from closerr.build import model_config
        from config.settings import get_settings
        from models import ModelMissingError, shared_registry

        console = Console()
        try:
            with console.status("loading models"):
                infos = shared_registry(model_config(get_settings())).describe(load=True)
        except ModelMissingError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from exc
        table = Table("model", "role", "package", "size", "load", "path")
        for info in infos:
            table.add_row(
                info.name,
                info.role,
                info.package,
                f"{info.size_bytes / 1e6:.1f} MB",
                f"{info.load_seconds:.2f} s" if info.load_seconds is not None else "-",
                str(info.path),
            )
        console.print(table)
        _print_languages(console)

    app.add_typer(models_app, name="models")


def _print_languages(console: Console) -> None:
    from closerr.build import engine_config
    from config.settings import get_settings
    from engine.facade import LANGUAGES, VOICES, Engine

    engine = Engine(engine_config(get_settings()))
    languages = Table("language", "speech-to-text")
    for language in LANGUAGES:
        with console.status(f"checking {language}"):
            problem = engine.language_problem(language)
        if problem is None:
            where = "bundled Whisper (English)" if language == "en-IN" else "CLOSERR_WHISPER_MODEL_PATH_HI, language hi"
            languages.add_row(language, f"available: {where}")
        else:
            languages.add_row(language, f"[yellow]unavailable[/yellow]: {problem}")
    console.print(languages)
    console.print(
        "Hindi and Hinglish accuracy is unmeasured here: no multilingual model is bundled, and espeak-ng's Hindi "
        "is no stand-in for a caller. Measure on your own recordings before a campaign."
    )
    voices = Table("voice", "speaks", "status", "what it is")
    for name, voice in VOICES.items():
        problem = next((engine.voice_problem(lang, name) for lang in sorted(voice.languages)), None)
        status = "available" if problem is None else f"[yellow]unavailable[/yellow]: {problem}"
        voices.add_row(name, ", ".join(sorted(voice.languages)), status, voice.description)
    console.print(voices)
    console.print(f"Scripts without `voice:` in en-IN speak with {engine.voice_of(None)}")
