import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { router } from './router';
import { useToastStore } from './stores/toasts';
import './styles/theme.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(router);

// Anything that escapes a component ends in a toast rather than a silent console line.
app.config.errorHandler = (err) => {
  console.error(err);
  useToastStore(pinia).error(err);
};
window.addEventListener('unhandledrejection', (e) => {
  console.error(e.reason);
  useToastStore(pinia).error(e.reason);
});

app.mount('#app');
