# Image for the worker (`npm run worker`) and the HTTP API (`npm run api`); docker-compose.yml picks
# the command. The project runs TypeScript directly with tsx: there is no build step.
FROM node:20-slim

WORKDIR /app

# Dependencies first, so that a source change does not reinstall them. Dev dependencies are kept on
# purpose: tsx, which runs the TypeScript sources, is one of them.
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund && npm cache clean --force

COPY . .

# The worker bundles workflows/ at start and tsx compiles on the fly; neither writes into /app.
USER node
ENV NODE_ENV=production
CMD ["npm", "run", "worker"]
