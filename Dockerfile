# uschina-bot: slim image, non-root user, `uschina-bot run`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY jobs ./jobs
COPY storage ./storage
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 uschina
COPY --from=build /install /usr/local
USER uschina
WORKDIR /home/uschina
ENV DATABASE_URL=sqlite:////home/uschina/data/uschina-bot.db \
    USCHINA_BOT_PORT=3000 \
    PYTHONUNBUFFERED=1
RUN mkdir -p /home/uschina/data
VOLUME ["/home/uschina/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz').status == 200 else 1)"
CMD ["uschina-bot", "run", "--host", "0.0.0.0"]
